// strata: one binary for every role and admin tool. See commands.h.
#include <cstdio>

#include "cli/commands.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  // Admin commands log warnings to stderr, never into their output (--json);
  // the roles set up their own logging.
  (void)strata::InitLogging("strata", "warn", "");
  CLI::App app{"Strata: distributed file system, virtual disks and cache"};
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; any other parse error is bad
    // usage: exit code 2, like the commands' own argument checks.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
