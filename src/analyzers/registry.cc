#include <algorithm>

#include "analyzers/analyzer.h"

namespace tapir::analyzers {

Registry& Registry::instance() {
  static Registry r;
  return r;
}

void Registry::add(AnalyzerInfo info) { infos_.push_back(std::move(info)); }

std::vector<AnalyzerInfo> Registry::all() const {
  auto v = infos_;
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return v;
}

const AnalyzerInfo* Registry::find(std::string_view name) const {
  for (const auto& i : infos_)
    if (i.name == name) return &i;
  return nullptr;
}

}  // namespace tapir::analyzers
