package shop

import "fmt"

const Limit = 10

type Cart struct {
	Items []int
}

type Pricer interface {
	Price(item int) int
}

func (c *Cart) Total() int {
	sum := 0
	for _, item := range c.Items {
		sum += price(item)
	}
	return sum
}

func price(item int) int {
	fmt.Println(item)
	return item * Limit
}
