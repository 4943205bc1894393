// The subcommands of the `strata` binary. Each lives in its own file
// (cmd_<name>.cc) and registers itself on the CLI11 app; main.cc only calls
// these functions. A subcommand's callback returns the process exit code
// through the int it is given.
//
// Thread-safety: called once from main() before anything runs.
#pragma once

#include <CLI/CLI.hpp>

namespace strata::cli {

// Each Register function adds one subcommand (and its own subcommands) to
// `app`; when that subcommand is chosen its work runs and stores the exit code
// in *exit_code.
void RegisterVersionCommand(CLI::App& app, int* exit_code);
void RegisterCacheCommand(CLI::App& app, int* exit_code);
void RegisterFsCommand(CLI::App& app, int* exit_code);
void RegisterClusterCommand(CLI::App& app, int* exit_code);
void RegisterUpDownCommands(CLI::App& app, int* exit_code);
void RegisterBenchCommand(CLI::App& app, int* exit_code);
void RegisterDebugCommand(CLI::App& app, int* exit_code);
void RegisterChunkserverCommand(CLI::App& app, int* exit_code);
void RegisterMasterCommand(CLI::App& app, int* exit_code);
void RegisterBlockManagerCommand(CLI::App& app, int* exit_code);
void RegisterVolumeCommand(CLI::App& app, int* exit_code);
void RegisterBlockServerCommand(CLI::App& app, int* exit_code);
void RegisterNbdCommand(CLI::App& app, int* exit_code);
// `strata cluster disk`, added under the cluster command.
void RegisterClusterDiskCommand(CLI::App* cluster, int* exit_code);
// `strata debug block-write`, added under the debug command.
void RegisterDebugBlockWriteCommand(CLI::App* debug, int* exit_code);

}  // namespace strata::cli
