#include <stdio.h>

#define LIMIT 10

struct cart {
    int items[LIMIT];
    int count;
};

static int
price(int item)
{
    return item * LIMIT;
}

int total(const struct cart *c)
{
    int sum = 0;
    for (int i = 0; i < c->count; i++) {
        sum += price(c->items[i]);
    }
    printf("%d\n", sum);
    return sum;
}
