// qgemm-quant: a quantization calculator for inference-engine authors.
//
//   qgemm-quant --scales Sa Sb Sc     M = Sa*Sb/Sc as the output stage's
//                                     (M0, shift) and what it really is
//   qgemm-quant --multiplier M        the same from M itself
//   qgemm-quant --range rmin rmax [--bits N] [--narrow] [--tensorflow]
//                                     scale S and zero point Z for a range
//   add --json for one JSON object on stdout.
//
// Exit status: 0 done; 1 the numbers are not quantizable (qgemm says why);
// 2 bad usage (unknown option, missing or non-numeric argument).
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <qgemm/quantization.hpp>
#include <string>
#include <vector>

namespace {

constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

void PrintUsage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: qgemm-quant --scales Sa Sb Sc [--json]\n"
      "       qgemm-quant --multiplier M [--json]\n"
      "       qgemm-quant --range rmin rmax [--bits N] [--narrow] "
      "[--tensorflow] [--json]\n"
      "\n"
      "  --scales Sa Sb Sc  real multiplier M = Sa * Sb / Sc of a GEMM with\n"
      "                     input scales Sa, Sb and output scale Sc, as the\n"
      "                     output stage's M0 in [2^30, 2^31) and shift, with\n"
      "                     the exact value M0 * 2^(shift - 31) they "
      "represent\n"
      "  --multiplier M     the same, from M\n"
      "  --range rmin rmax  scale S and zero point Z for uint8 (or N-bit)\n"
      "                     codes covering [rmin, rmax] extended to hold 0,\n"
      "                     Z nudged to an integer so that 0 is exact\n"
      "  --bits N           levels 2^N for --range, N in [2, 16] (default 8;\n"
      "                     other than 8: fake quantization for training)\n"
      "  --narrow           codes [1, 2^N - 1] for --range (the paper's\n"
      "                     weight range, TensorFlow's narrow_range)\n"
      "  --tensorflow       TensorFlow's FakeQuantWithMinMaxVars nudging for\n"
      "                     --range (a range excluding 0 is shifted, not\n"
      "                     extended; float arithmetic in TensorFlow's order)\n"
      "  --json             print one JSON object\n"
      "\n"
      "exit status: 0 ok, 1 values not quantizable, 2 bad usage\n");
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "qgemm-quant: %s\n", message.c_str());
  PrintUsage(stderr);
  return kExitUsage;
}

bool ParseDouble(const char* text, double* out) {
  if (text == nullptr || text[0] == '\0') return false;
  errno = 0;
  char* end = nullptr;
  *out = std::strtod(text, &end);
  // Overflow to inf is a usage error; NaN and "inf" written out are kept
  // and rejected as values.
  return *end == '\0' && errno != ERANGE;
}

int Invalid(const std::string& message) {
  std::fprintf(stderr, "qgemm-quant: %s\n", message.c_str());
  return kExitInvalid;
}

int Multiplier(const std::vector<double>& scales, double m, bool json) {
  qgemm::QuantizedMultiplier qm;
  try {
    qm = qgemm::quantize_multiplier(m);
  } catch (const qgemm::Error& e) {
    return Invalid(e.message());
  }
  const double value = qm.value();
  const double relative_error = m == 0.0 ? 0.0 : (value - m) / m;
  if (json) {
    std::printf("{");
    if (!scales.empty()) {
      std::printf("\"sa\": %.17g, \"sb\": %.17g, \"sc\": %.17g, ", scales[0],
                  scales[1], scales[2]);
    }
    std::printf(
        "\"real_multiplier\": %.17g, \"multiplier\": %d, \"shift\": %d, "
        "\"represented\": %.17g, \"relative_error\": %.3g}\n",
        m, qm.multiplier, qm.shift, value, relative_error);
    return 0;
  }
  if (!scales.empty()) {
    std::printf("Sa = %.9g, Sb = %.9g, Sc = %.9g\n", scales[0], scales[1],
                scales[2]);
    std::printf("M = Sa * Sb / Sc   %.17g\n", m);
  } else {
    std::printf("M                  %.17g\n", m);
  }
  std::printf("M0                 %d (0x%08x)\n", qm.multiplier,
              static_cast<unsigned>(qm.multiplier));
  std::printf("shift              %d\n", qm.shift);
  std::printf("represents         %.17g = %d * 2^%d\n", value, qm.multiplier,
              qm.shift - 31);
  std::printf("relative error     %.3g\n", relative_error);
  if (qm.multiplier == 0 && m != 0.0) {
    std::printf("note               M < 2^-32: the output stage computes 0\n");
  }
  return 0;
}

int Range(double rmin, double rmax, int bits,
          const qgemm::RangeOptions& options, bool json) {
  // The library takes floats, as tensors' ranges are.
  const auto fmin = static_cast<float>(rmin);
  const auto fmax = static_cast<float>(rmax);
  const bool tensorflow = options.rule == qgemm::NudgeRule::kTensorFlow;
  qgemm::FakeQuantParams p;
  try {
    if (options.narrow_range || tensorflow) {
      p = qgemm::nudge_fake_quant_range(fmin, fmax, bits, options);
    } else if (bits == 8) {
      const qgemm::QuantParams q = qgemm::choose_quant_params(fmin, fmax);
      p.scale = q.scale;
      p.zero_point = q.zero_point;
      p.quant_max = 255;
    } else {
      p = qgemm::nudge_fake_quant_range(fmin, fmax, bits);
    }
  } catch (const qgemm::Error& e) {
    return Invalid(e.message());
  }
  const double scale = p.scale;
  const double lo = p.nudged_min(), hi = p.nudged_max();
  if (json) {
    std::printf(
        "{\"rmin\": %.9g, \"rmax\": %.9g, \"bits\": %d, \"scale\": %.9g, "
        "\"zero_point\": %d, \"quant_max\": %d, \"nudged_min\": %.9g, "
        "\"nudged_max\": %.9g, \"quant_min\": %d, \"rule\": \"%s\"}\n",
        static_cast<double>(fmin), static_cast<double>(fmax), bits, scale,
        p.zero_point, p.quant_max, lo, hi, p.quant_min,
        tensorflow ? "tensorflow" : "extend_to_zero");
    return 0;
  }
  std::printf("range              [%.9g, %.9g]\n", static_cast<double>(fmin),
              static_cast<double>(fmax));
  std::printf("levels             %d (codes %d..%d)\n",
              p.quant_max - p.quant_min + 1, p.quant_min, p.quant_max);
  std::printf("rule               %s\n",
              tensorflow ? "TensorFlow FakeQuantWithMinMaxVars (shifted)"
                         : "extended to hold 0 (the paper's)");
  std::printf("S                  %.9g (%a)\n", scale, scale);
  std::printf("Z                  %d\n", p.zero_point);
  std::printf("nudged range       [%.9g, %.9g] = S * ([%d, %d] - Z)\n", lo, hi,
              p.quant_min, p.quant_max);
  if (tensorflow) {
    std::printf(
        "fake quantization: y = floor((clamp(x, a, b) - a) / S - %d + 0.5) * "
        "S\n",
        p.zero_point - p.quant_min);
  } else {
    std::printf("real = S * (q - Z); q = clamp(round(real / S) + Z, %d, %d)\n",
                p.quant_min, p.quant_max);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  enum class Mode { kNone, kScales, kMultiplier, kRange } mode = Mode::kNone;
  std::vector<double> values;
  bool json = false;
  int bits = 8;
  bool range_option_given = false;
  qgemm::RangeOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    size_t want = 0;
    Mode next = Mode::kNone;
    if (arg == "-h" || arg == "--help") {
      PrintUsage(stdout);
      return 0;
    } else if (arg == "--json") {
      json = true;
      continue;
    } else if (arg == "--narrow") {
      options.narrow_range = true;
      range_option_given = true;  // a --range option too
      continue;
    } else if (arg == "--tensorflow") {
      options.rule = qgemm::NudgeRule::kTensorFlow;
      range_option_given = true;
      continue;
    } else if (arg == "--bits") {
      double b = 0.0;
      if (i + 1 >= argc || !ParseDouble(argv[i + 1], &b) ||
          b != std::floor(b)) {
        return UsageError("--bits needs an integer");
      }
      if (b < 2.0 || b > 16.0) return UsageError("--bits must be in [2, 16]");
      bits = static_cast<int>(b);
      range_option_given = true;
      ++i;
      continue;
    } else if (arg == "--scales") {
      next = Mode::kScales;
      want = 3;
    } else if (arg == "--multiplier") {
      next = Mode::kMultiplier;
      want = 1;
    } else if (arg == "--range") {
      next = Mode::kRange;
      want = 2;
    } else {
      return UsageError("unknown argument '" + arg + "'");
    }
    if (mode != Mode::kNone) {
      return UsageError("give one of --scales, --multiplier, --range");
    }
    mode = next;
    for (size_t v = 0; v < want; ++v) {
      double x = 0.0;
      if (i + 1 >= argc) {
        return UsageError(arg + " needs " + std::to_string(want) + " numbers");
      }
      if (!ParseDouble(argv[i + 1], &x)) {
        return UsageError(std::string("'") + argv[i + 1] + "' is not a number");
      }
      values.push_back(x);
      ++i;
    }
  }
  if (range_option_given && mode != Mode::kRange) {
    return UsageError("--bits, --narrow and --tensorflow go with --range");
  }
  switch (mode) {
    case Mode::kScales: {
      for (int s = 0; s < 3; ++s) {
        if (!(values[s] > 0.0) || !std::isfinite(values[s])) {
          return Invalid("scales must be finite and > 0");
        }
      }
      const double m = values[0] * values[1] / values[2];
      return Multiplier(values, m, json);
    }
    case Mode::kMultiplier:
      return Multiplier({}, values[0], json);
    case Mode::kRange:
      return Range(values[0], values[1], bits, options, json);
    case Mode::kNone:
      break;
  }
  return UsageError("nothing to do");
}
