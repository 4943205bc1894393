// strata: one binary for every role and admin tool. See commands.h.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/logging.h"

namespace {

// The command path up to the first word that is not a command of the level
// it appears at (e.g. "fs nosuch"), when a level that takes only commands
// got such a word first; "" otherwise.
std::string UnknownCommand(CLI::App& app, int argc, char** argv) {
  CLI::App* level = &app;
  std::string path;
  for (int i = 1; i < argc; i++) {
    std::string word = argv[i];
    if (word.empty() || word[0] == '-') return "";
    std::vector<CLI::App*> subs = level->get_subcommands({});
    CLI::App* sub = nullptr;
    for (CLI::App* s : subs) {
      if (s->check_name(word)) sub = s;
    }
    path += (path.empty() ? "" : " ") + word;
    if (sub == nullptr) return subs.empty() ? "" : path;
    level = sub;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  // Admin commands log warnings to stderr, never into their output (--json);
  // the roles set up their own logging.
  (void)strata::InitLogging("strata", "warn", "");
  CLI::App app{"Strata: distributed file system and cache"};
  app.require_subcommand(1);
  int exit_code = 0;
  strata::cli::RegisterVersionCommand(app, &exit_code);
  strata::cli::RegisterCacheCommand(app, &exit_code);
  strata::cli::RegisterFsCommand(app, &exit_code);
  strata::cli::RegisterClusterCommand(app, &exit_code);
  strata::cli::RegisterUpDownCommands(app, &exit_code);
  strata::cli::RegisterBenchCommand(app, &exit_code);
  strata::cli::RegisterDebugCommand(app, &exit_code);
  strata::cli::RegisterChunkserverCommand(app, &exit_code);
  strata::cli::RegisterMasterCommand(app, &exit_code);
  strata::cli::RegisterBlockManagerCommand(app, &exit_code);
  strata::cli::RegisterVolumeCommand(app, &exit_code);
  strata::cli::RegisterBlockServerCommand(app, &exit_code);
  strata::cli::RegisterNbdCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A word where a command was expected: name it rather than only saying
    // that a command is required.
    if (std::string unknown = UnknownCommand(app, argc, argv); !unknown.empty()) {
      std::fprintf(stderr, "error: unknown command '%s' (see %s --help)\n", unknown.c_str(), argv[0]);
      return 2;
    }
    // --help and --version print and succeed; any other parse error is bad
    // usage: exit code 2, like the commands' own argument checks.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
