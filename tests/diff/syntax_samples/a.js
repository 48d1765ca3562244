const MAX = 3;

class Cart {
  constructor(items) {
    this.items = items;
  }

  total() {
    return this.items.reduce((sum, item) => {
      return sum + price(item);
    }, 0);
  }
}

const price = (item) => {
  return item.cost * MAX;
};

function main() {
  const cart = new Cart([]);
  console.log(cart.total());
}
