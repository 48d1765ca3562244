use std::fmt;

const LIMIT: u32 = 10;

pub struct Cart {
    items: Vec<u32>,
}

impl Cart {
    pub fn total(&self) -> u32 {
        self.items
            .iter()
            .map(|item| price(*item))
            .sum()
    }
}

impl fmt::Display for Cart {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.total())
    }
}

fn price(item: u32) -> u32 {
    item * LIMIT
}
