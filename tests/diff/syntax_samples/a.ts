export interface Item {
  cost: number;
}

export type Total = number;

export class Cart {
  private items: Item[] = [];

  total(): Total {
    return this.items.reduce((sum, item) => sum + price(item), 0);
  }
}

export function price(item: Item): number {
  return item.cost;
}

namespace Shop {
  export const open = () => {
    return new Cart();
  };
}
