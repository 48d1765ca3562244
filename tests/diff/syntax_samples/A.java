package shop;

public class Cart {
    static final int LIMIT = 10;

    private final List<Item> items = new ArrayList<>();

    @Override
    public String toString() {
        return "Cart";
    }

    public int total() {
        int sum = 0;
        for (Item item : items) {
            sum += price(item);
        }
        return sum;
    }

    interface Pricer {
        int price(Item item);
    }
}
