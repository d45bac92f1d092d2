#include <cstdio>
#include <new>
#include <string>

#include "commands.hpp"

namespace causalgen::cli {

int error(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "causalgen: error: %s\n", message.c_str());
  return 1;
}

namespace {

// The deepest command parsed before a failure (the app itself if none).
const CLI::App* last_command(const CLI::App& app) {
  const CLI::App* at = &app;
  for (auto subs = at->get_subcommands(); !subs.empty(); subs = at->get_subcommands())
    at = subs.front();
  return at;
}

// "causalgen bench generate": the commands parsed before a failure.
std::string command_path(const CLI::App& app) {
  std::string path = "causalgen";
  for (const CLI::App* a = &app; a != last_command(app);) {
    a = a->get_subcommands().front();
    path += " " + a->get_name();
  }
  return path;
}

std::string command_list(const CLI::App& app) {
  std::string list;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; }))
    list += (list.empty() ? "" : ", ") + s->get_name();
  return list;
}

}  // namespace

int usage_exit(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == 0) return app.exit(e);  // --help: the help, exit 0
  const std::string where = command_path(app);
  const CLI::App* at = last_command(app);
  std::string what = e.what();
  // A command that takes commands ("causalgen", "causalgen bench") was given none.
  if (e.get_name() == "RequiredError" && !command_list(*at).empty())
    what = "'" + where + "' needs a command: " + command_list(*at);
  std::fflush(stdout);
  std::fprintf(stderr, "causalgen: error: %s (see '%s --help')\n", what.c_str(), where.c_str());
  return 2;
}

bool unknown_command(const CLI::App& app, int argc, char** argv) {
  const CLI::App* at = &app;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    const auto subs = at->get_subcommands([](const CLI::App*) { return true; });
    if (word.empty() || word[0] == '-' || subs.empty()) return false;
    const CLI::App* next = nullptr;
    for (const CLI::App* s : subs)
      if (s->check_name(word)) next = s;
    if (!next) {
      std::fprintf(stderr, "causalgen: error: unknown command '%s%s'; the %scommands are: %s\n",
                   path.c_str(), word.c_str(), path.c_str(), command_list(*at).c_str());
      return true;
    }
    path += word + " ";
    at = next;
  }
  return false;
}

int run_main(CLI::App& app, int argc, char** argv, const int& exit_code) {
  if (unknown_command(app, argc, argv)) return 2;
  // Nothing may escape main: a failure the commands did not foresee is still
  // one line and exit 1, never std::terminate's abort.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return usage_exit(app, e);
  } catch (const std::bad_alloc&) {
    return error("out of memory (a size this command allocates is more than the machine has)");
  } catch (const std::exception& e) {
    return error(std::string("internal error: ") + e.what());
  } catch (...) {
    return error("internal error: an unknown exception");
  }
  return exit_code;
}

}  // namespace causalgen::cli
