// qgemm-info: what this CPU offers, which ISAs this build can run here,
// which one a call would use and why, and each kernel table's tile.
//   qgemm-info          human-readable
//   qgemm-info --json   one JSON object on stdout (nothing else on stdout)
#include <qgemm/qgemm.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dispatch/cpu.h"
#include "dispatch/isa.h"

namespace {

struct IsaRow {
  const qgemm::IsaEntry* entry;
  bool built, runs_here;
  std::string why_not;
};

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

int Usage(FILE* f) {
  std::fprintf(
      f,
      "usage: qgemm-info [--json]\n"
      "Prints the CPU, the features qgemm dispatches on, the ISAs this "
      "build can run here,\nthe default ISA and why, and each kernel "
      "table's MR x NR x KR tile.\n");
  return f == stdout ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (std::strcmp(argv[i], "--help") == 0 ||
               std::strcmp(argv[i], "-h") == 0) {
      return Usage(stdout);
    } else {
      std::fprintf(stderr, "qgemm-info: unknown argument '%s'\n", argv[i]);
      return Usage(stderr);
    }
  }
  const qgemm::CpuFeatures& cpu = qgemm::DetectedCpu();
  const qgemm::CpuFeatures effective = qgemm::EffectiveCpu();
  size_t count = 0;
  const qgemm::IsaEntry* list = qgemm::IsaList(&count);
  std::vector<IsaRow> rows;
  for (size_t i = 0; i < count; ++i) {
    IsaRow r{&list[i], list[i].table != nullptr, false, ""};
    r.runs_here = qgemm::IsaUsable(list[i], effective, &r.why_not);
    rows.push_back(r);
  }
  const char* env = std::getenv("QGEMM_ISA");
  const bool env_set = env != nullptr && env[0] != '\0';
  const char* default_isa = qgemm_context_isa(nullptr);
  std::string why_default;
  if (default_isa == nullptr) {
    const qgemm::KernelTable* t = nullptr;
    qgemm::ResolveDefaultIsa(&t, &why_default);
  } else if (env_set && std::strcmp(env, "auto") != 0) {
    why_default = std::string("QGEMM_ISA=") + env;
  } else {
    why_default = std::string("the best ISA this build and CPU run (") +
                  qgemm::BestIsa(effective).needs + ")";
    if (std::strcmp(default_isa, "scalar") == 0) {
      why_default = "no SIMD ISA of this build runs on this CPU";
    }
  }
  size_t num_features = 0;
  const qgemm::CpuFeatureName* features = qgemm::CpuFeatureNames(&num_features);

  if (json) {
    std::printf("{\n  \"version\": \"%d.%d.%d\",\n", QGEMM_VERSION_MAJOR,
                QGEMM_VERSION_MINOR, QGEMM_VERSION_PATCH);
    std::printf(
        "  \"cpu\": {\"arch\": \"%s\", \"vendor\": \"%s\", \"model\": "
        "\"%s\"},\n",
        JsonEscape(cpu.arch).c_str(), JsonEscape(cpu.vendor).c_str(),
        JsonEscape(cpu.model).c_str());
    std::printf("  \"features\": {");
    for (size_t i = 0; i < num_features; ++i) {
      std::printf("%s\"%s\": %s", i ? ", " : "", features[i].name,
                  cpu.Has(features[i].bit) ? "true" : "false");
    }
    std::printf("},\n  \"isas\": [\n");
    for (size_t i = 0; i < rows.size(); ++i) {
      const IsaRow& r = rows[i];
      std::printf(
          "    {\"name\": \"%s\", \"id\": %u, \"needs\": \"%s\", "
          "\"qemu_cpu\": \"%s\", \"built\": %s, \"runs_here\": %s",
          r.entry->name, r.entry->id, JsonEscape(r.entry->needs).c_str(),
          r.entry->qemu_cpu, r.built ? "true" : "false",
          r.runs_here ? "true" : "false");
      if (r.built) {
        std::printf(", \"mr\": %u, \"nr\": %u, \"kr\": %u", r.entry->table->mr,
                    r.entry->table->nr, r.entry->table->kr);
      }
      if (!r.runs_here) {
        std::printf(", \"why_not\": \"%s\"", JsonEscape(r.why_not).c_str());
      }
      std::printf("}%s\n", i + 1 < rows.size() ? "," : "");
    }
    std::printf("  ],\n  \"default_isa\": %s%s%s,\n  \"why\": \"%s\"\n}\n",
                default_isa ? "\"" : "", default_isa ? default_isa : "null",
                default_isa ? "\"" : "", JsonEscape(why_default).c_str());
    return default_isa ? 0 : 1;
  }

  std::printf("qgemm %d.%d.%d\n", QGEMM_VERSION_MAJOR, QGEMM_VERSION_MINOR,
              QGEMM_VERSION_PATCH);
  std::printf("CPU:       %s %s%s%s\n", cpu.arch, cpu.vendor,
              cpu.model[0] == 0 ? "" : ", ", cpu.model);
  std::printf("Features: ");
  for (size_t i = 0; i < num_features; ++i) {
    std::printf(" %s%s", cpu.Has(features[i].bit) ? "+" : "-",
                features[i].name);
  }
  std::printf("\n\nISA         built  runs here  tile (MR x NR x KR)\n");
  for (const IsaRow& r : rows) {
    char tile[48] = "-";
    if (r.built) {
      std::snprintf(tile, sizeof tile, "%u x %u x %u", r.entry->table->mr,
                    r.entry->table->nr, r.entry->table->kr);
    }
    std::printf("%-11s %-6s %-10s %s\n", r.entry->name, r.built ? "yes" : "no",
                r.runs_here ? "yes" : "no", tile);
    if (r.built && !r.runs_here) {
      std::printf("            (%s)\n", r.why_not.c_str());
    }
  }
  // AMX needs the OS too: say what the CPU reports and what Linux answered
  // to the tile permission request (made only on a CPU that has AMX).
  const qgemm::IsaEntry* amx = qgemm::FindIsa("amx");
  if (amx != nullptr && std::strcmp(cpu.arch, "x86-64") == 0) {
    const uint32_t amx_bits =
        qgemm::kAmxTile | qgemm::kAmxInt8 | qgemm::kAmxPalette1;
    std::printf(
        "\nAMX:       tile %s, int8 %s, palette 1 with OS tile state %s;"
        " tile permission: ",
        cpu.Has(qgemm::kAmxTile) ? "yes" : "no",
        cpu.Has(qgemm::kAmxInt8) ? "yes" : "no",
        cpu.Has(qgemm::kAmxPalette1) ? "yes" : "no");
    std::string why;
    if (amx->table == nullptr) {
      std::printf("not requested (amx is not in this build)\n");
    } else if (!effective.Has(amx->features)) {
      std::printf("not requested (%s)\n", effective.Has(amx_bits)
                                              ? "the CPU lacks AVX-512 VNNI"
                                              : "the CPU lacks AMX");
    } else if (qgemm::IsaUsable(*amx, effective, &why)) {
      std::printf("granted (arch_prctl ARCH_REQ_XCOMP_PERM)\n");
    } else {
      std::printf("refused (%s)\n", why.c_str());
    }
  }
  if (default_isa == nullptr) {
    std::printf("\nDefault ISA: none: %s\n", why_default.c_str());
    return 1;
  }
  std::printf("\nDefault ISA: %s (%s)\n", default_isa, why_default.c_str());
  return 0;
}
