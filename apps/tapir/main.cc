// tapir: the command-line tool (offline decoding, queries, certificates, tokens).
#include <cstdio>
#include <exception>
#include <utility>

#include "commands.h"

namespace tapir::cli {
std::vector<Command>& commands() {
  static std::vector<Command> c;
  return c;
}
}  // namespace tapir::cli

int main(int argc, char** argv) {
  CLI::App app{"tapir: portable, distributed packet capture"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tapir " TAPIR_VERSION);
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& c : tapir::cli::commands()) {
    size_t before = app.get_subcommands({}).size();
    auto run = c.install(app);
    auto subs = app.get_subcommands({});
    if (subs.size() > before) runners.emplace_back(subs.back(), std::move(run));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tapir: %s\n", e.what());
    return 1;
  }
  return 0;
}
