// A small deterministic random number generator (SplitMix64) with the few
// draws the generator needs. The standard library's distributions are
// implementation-defined, so the same seed could give other bytes on another
// compiler; these are spelled out and portable.
#ifndef BUCKETD_TOOLS_RNG_H_
#define BUCKETD_TOOLS_RNG_H_

#include <cmath>
#include <cstdint>

namespace bucketd::tools {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  // A generator for item `index` of stream `seed`: items are independent, so
  // a company's history does not depend on how many companies came before.
  static Rng For(uint64_t seed, uint64_t stream, uint64_t index) {
    Rng mix(seed ^ (stream * 0x9E3779B97F4A7C15ULL));
    mix.state_ ^= mix.Next() + index * 0xD1B54A32D192ED03ULL;
    mix.Next();
    return mix;
  }
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // [0, 1)
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // [lo, hi]
  int64_t Int(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return Uniform() < p; }
  // Box-Muller; one draw per call keeps the sequence simple to reason about.
  double Normal(double mean = 0, double sd = 1) {
    double u1 = 1.0 - Uniform();  // (0, 1]
    double u2 = Uniform();
    return mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double LogNormal(double mu, double sigma) { return std::exp(Normal(mu, sigma)); }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Next() % N];
  }

 private:
  uint64_t state_;
};

}  // namespace bucketd::tools

#endif  // BUCKETD_TOOLS_RNG_H_
