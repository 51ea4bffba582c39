// tapir token create --db FILE --name NAME: a bearer token for the query API.
#include <cstdio>

#include "api/token.h"
#include "commands.h"
#include "store/store.h"

namespace tapir::cli {
namespace {

struct TokenArgs {
  std::string db = "tapir.db";
  std::string name;
};

RegisterCommand reg{{[](CLI::App& app) -> std::function<int()> {
  auto args = std::make_shared<TokenArgs>();
  auto* token = app.add_subcommand("token", "API bearer tokens");
  token->require_subcommand(1);
  auto* create = token->add_subcommand("create", "create a token; it is printed once and stored hashed");
  create->add_option("--db", args->db, "collector database")->capture_default_str();
  create->add_option("--name", args->name, "what the token is for (unique)")->required();
  return [args, create]() -> int {
    if (!create->parsed()) return 2;
    auto store = store::open_sqlite(args->db);
    std::string t = api::generate_token();
    store->put_token(args->name, api::hash_token(t));
    std::printf("%s\n", t.c_str());
    return 0;
  };
}}};

}  // namespace
}  // namespace tapir::cli
