// The traffic generator and the tests' histories draw from the same seeded PRNG.
export { mulberry32 } from '../../../libs/domain/src/testing/random';
