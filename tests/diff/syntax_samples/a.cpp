#include <vector>

namespace shop {

class Cart {
public:
    int total() const {
        int sum = 0;
        for (int item : items_) {
            sum += price(item);
        }
        return sum;
    }

private:
    std::vector<int> items_;
};

int Cart::price(int item) const {
    return item * 10;
}

}  // namespace shop
