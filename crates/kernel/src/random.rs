//! A small deterministic generator for the property tests of every context:
//! the same seed gives the same cases, so a failure can be replayed.

/// Xorshift64: fast, tiny and good enough to draw test cases.
#[derive(Clone, Debug)]
pub struct Xorshift(u64);

impl Xorshift {
    /// A generator from `seed` (any value; zero is moved off, as xorshift needs).
    pub fn new(seed: u64) -> Self {
        Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `0..n` (`n` at least 1).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::Xorshift;

    #[test]
    fn the_same_seed_draws_the_same_cases_within_bounds() {
        let draw = |seed| {
            let mut rng = Xorshift::new(seed);
            (0..100).map(|_| rng.below(7)).collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        assert!(draw(0).iter().all(|n| *n < 7));
        assert!((0..7).all(|n| draw(3).contains(&n)), "every value comes up");
    }
}
