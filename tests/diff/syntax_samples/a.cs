using System;

namespace Shop
{
    public class Cart
    {
        const int Limit = 10;

        public int Count { get; set; }

        public int Total()
        {
            var sum = 0;
            foreach (var item in items)
            {
                sum += Price(item);
            }
            return sum;
        }

        private static int Price(int item)
        {
            return item * Limit;
        }
    }
}
