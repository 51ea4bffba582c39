// Subcommands of the `tapir` tool. Each lives in its own cmd_*.cc file and
// registers itself here, so main.cc stays a thin dispatcher.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace tapir::cli {

struct Command {
  // Adds the subcommand to `app`; returns a function that runs it (exit code),
  // called only if the subcommand was chosen.
  std::function<std::function<int()>(CLI::App& app)> install;
};

std::vector<Command>& commands();

struct RegisterCommand {
  explicit RegisterCommand(Command c) { commands().push_back(std::move(c)); }
};

}  // namespace tapir::cli
