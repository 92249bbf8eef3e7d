#include "plugin_loader.hpp"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

#include "test_support.hpp"

namespace genmem {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kFixtures = GENMEM_FIXTURE_PLUGIN_DIR;
const fs::path kPlugins = GENMEM_PLUGIN_DIR;

fs::path fixture(const std::string& name) {
  return kFixtures / plugin_file_name(name);
}

// Returns the message of the PluginLoadError that loading `path` throws.
std::string load_error(const fs::path& path) {
  try {
    PluginLoader::load_file(path);
  } catch (const PluginLoadError& error) {
    return error.what();
  }
  return "";
}

TEST(PluginLoader, RealPluginsLoadWithDeclarations) {
  PluginLoader loader({kPlugins});
  const LoadedPlugin& hopfield = loader.load("modern_hopfield");
  EXPECT_EQ(hopfield.role, PluginRole::kAssociativeMemory);
  EXPECT_FALSE(hopfield.version.empty());
  const bool has_beta = std::any_of(
      hopfield.parameters.begin(), hopfield.parameters.end(), [](const ParameterSpec& spec) {
        return spec.name == "beta";
      });
  EXPECT_TRUE(has_beta);

  const LoadedPlugin& vae = loader.load("vae");
  EXPECT_EQ(vae.role, PluginRole::kGenerativeModel);
  EXPECT_EQ(&loader.load("vae"), &vae);
}

TEST(PluginLoader, RealMemoryStoresThroughGuard) {
  PluginLoader loader({kPlugins});
  const LoadedPlugin& plugin = loader.load("modern_hopfield");
  auto memory = create_memory(plugin, {default_parameters(plugin.parameters), "cpu", 1});
  memory->store(at::ones({3, 4}));
  EXPECT_EQ(memory->size(), 3);
  EXPECT_EQ(memory->pattern_dim(), 4);
}

TEST(PluginLoader, OtherAbiRejected) {
  const std::string message = load_error(fixture("wrong_abi"));
  EXPECT_THAT(message, HasSubstr("was built for genmem plugin ABI 999"));
  EXPECT_THAT(
      message, HasSubstr("this genmem uses ABI " + std::to_string(GENMEM_PLUGIN_ABI_VERSION)));
  EXPECT_THAT(message, HasSubstr("rebuild the plugin"));
}

TEST(PluginLoader, OtherLibTorchRejected) {
  const std::string message = load_error(fixture("wrong_torch"));
  EXPECT_THAT(message, HasSubstr("built against LibTorch 0.0.1, but genmem runs LibTorch"));
}

TEST(PluginLoader, OtherCxx11AbiRejected) {
  const std::string message = load_error(fixture("wrong_cxx11"));
  EXPECT_THAT(message, HasSubstr("built with _GLIBCXX_USE_CXX11_ABI=0, but genmem uses 1"));
}

TEST(PluginLoader, LibraryWithoutEntryRejected) {
  const std::string message = load_error(fixture("no_entry"));
  EXPECT_THAT(message, HasSubstr("is not a genmem plugin: it does not export"));
  EXPECT_THAT(message, HasSubstr("genmem_plugin_descriptor"));
}

TEST(PluginLoader, TextFileRejected) {
  test_support::TempDir dir;
  const fs::path path = dir / plugin_file_name("text");
  test_support::write_text(path, "not a library\n");
  EXPECT_THAT(load_error(path), HasSubstr("is not a genmem plugin: it is not a shared library"));
}

TEST(PluginLoader, TruncatedLibraryRejected) {
  test_support::TempDir dir;
  const fs::path path = dir / plugin_file_name("fixture_ok");
  fs::copy_file(fixture("fixture_ok"), path);
  fs::resize_file(path, 3000);
  EXPECT_THAT(load_error(path), HasSubstr("is not a genmem plugin: it is truncated (3000 bytes"));
}

TEST(PluginLoader, FolderRejected) {
  test_support::TempDir dir;
  fs::create_directories(dir / plugin_file_name("folder"));
  EXPECT_THAT(load_error(dir / plugin_file_name("folder")), HasSubstr("it is not a regular file"));
}

TEST(PluginLoader, MissingFileRejected) {
  EXPECT_THAT(load_error("/nonexistent/libgenmem_plugin_x.so"), HasSubstr("does not exist"));
}

TEST(PluginLoader, ThrowingFactoryNamesPlugin) {
  const LoadedPlugin plugin = PluginLoader::load_file(fixture("throwing_factory"));
  try {
    create_memory(plugin, {default_parameters(plugin.parameters), "cpu", 1});
    FAIL() << "expected PluginLoadError";
  } catch (const PluginLoadError& error) {
    EXPECT_THAT(error.what(), HasSubstr("plugin 'throwing_factory'"));
    EXPECT_THAT(error.what(), HasSubstr("failed to create its model: fixture factory failure"));
  }
}

TEST(PluginLoader, ThrowingCallRethrownAsModelError) {
  const LoadedPlugin plugin = PluginLoader::load_file(fixture("throwing_recall"));
  auto memory = create_memory(plugin, {default_parameters(plugin.parameters), "cpu", 1});
  try {
    memory->recall(at::zeros({1, 2}), RecallOptions{});
    FAIL() << "expected ModelError";
  } catch (const ModelError& error) {
    EXPECT_STREQ(error.what(), "plugin 'throwing_recall' failed in recall: fixture recall failure");
  }
}

// A recall result of the wrong type or shape names the plugin and what it returned, instead of
// failing later in a step with LibTorch's message.
TEST(PluginLoader, MalformedRecallResultNamesPlugin) {
  const LoadedPlugin plugin = PluginLoader::load_file(fixture("fixture_ok"));
  const auto recall_with_fault = [&](const std::string& fault) -> std::string {
    Parameters parameters = default_parameters(plugin.parameters);
    parameters.set("fault", fault);
    auto memory = create_memory(plugin, {parameters, "cpu", 1});
    try {
      memory->recall(at::zeros({3, 4}), RecallOptions{});
    } catch (const ModelError& error) {
      return error.what();
    }
    return "no error";
  };
  EXPECT_EQ(recall_with_fault(""), "no error");
  EXPECT_EQ(
      recall_with_fault("wide_states"),
      "plugin 'fixture_ok' returned Float [3, 5] as states from recall, expected Float [3, 4]; "
      "fix the plugin's recall");
  EXPECT_EQ(
      recall_with_fault("double_states"),
      "plugin 'fixture_ok' returned Double [3, 4] as states from recall, expected Float [3, 4]; "
      "fix the plugin's recall");
  EXPECT_EQ(
      recall_with_fault("nan_states"),
      "plugin 'fixture_ok' returned states with NaN or infinite values from recall; fix the "
      "plugin's recall");
  EXPECT_EQ(
      recall_with_fault("float_steps"),
      "plugin 'fixture_ok' returned Float [3] as steps from recall, expected Long [3]; fix the "
      "plugin's recall");
  EXPECT_EQ(
      recall_with_fault("no_converged"),
      "plugin 'fixture_ok' returned nothing as converged from recall, expected Bool [3]; fix the "
      "plugin's recall");
}

TEST(PluginLoader, WrongRoleRejected) {
  const LoadedPlugin plugin = PluginLoader::load_file(fixture("fixture_ok"));
  EXPECT_THROW(
      create_generative_model(plugin, {default_parameters(plugin.parameters), "cpu", 1}),
      ConfigError);
}

TEST(PluginLoader, NotFoundListsEveryTriedFolder) {
  PluginLoader loader({"/first/folder", "/second/folder"});
  try {
    loader.load("absent");
    FAIL() << "expected PluginLoadError";
  } catch (const PluginLoadError& error) {
    EXPECT_THAT(
        error.what(),
        HasSubstr("tried /first/folder/libgenmem_plugin_absent.so, "
                  "/second/folder/libgenmem_plugin_absent.so"));
  }
}

TEST(PluginLoader, EarlierFolderWins) {
  test_support::TempDir first;
  fs::copy_file(fixture("fixture_ok"), first / plugin_file_name("fixture_ok"));
  PluginLoader loader({first.path(), kFixtures});
  EXPECT_EQ(loader.load("fixture_ok").path, first / plugin_file_name("fixture_ok"));
}

TEST(PluginLoader, SearchPathOrder) {
  ::setenv("GENMEM_PLUGIN_PATH", "/env/a:/env/b", 1);
  const auto path = PluginLoader::default_search_path({"/cli"}, {"/scenario"});
  ::unsetenv("GENMEM_PLUGIN_PATH");
  ASSERT_EQ(path.size(), 6U);
  EXPECT_EQ(path[0], "/cli");
  EXPECT_EQ(path[1], "/env/a");
  EXPECT_EQ(path[2], "/env/b");
  EXPECT_EQ(path[3], "/scenario");
  // The prefix of the running program (here the build folder, which has no lib/genmem/plugins)
  // comes before the build tree's plugin folder.
  EXPECT_EQ(path[4].filename(), "plugins");
  EXPECT_EQ(path[4].parent_path().filename(), "genmem");
  EXPECT_NE(path[4], kPlugins);
  EXPECT_EQ(path[5], kPlugins);
}

TEST(PluginLoader, DiscoverSkipsBrokenFiles) {
  PluginLoader loader({kFixtures});
  const auto plugins = loader.discover();
  std::vector<std::string> names;
  for (const auto& plugin : plugins) {
    names.push_back(plugin.name);
  }
  EXPECT_THAT(
      names, ::testing::UnorderedElementsAre("fixture_ok", "throwing_factory", "throwing_recall"));
}

TEST(PluginLoader, DiscoverAgreesWithLoadOnHiddenPlugin) {
  // An earlier folder contains a broken file under the name of a good plugin in a later folder.
  test_support::TempDir first;
  test_support::write_text(first / plugin_file_name("fixture_ok"), "not a library");
  PluginLoader loader({first.path(), kFixtures});
  std::vector<std::string> names;
  for (const auto& plugin : loader.discover()) {
    names.push_back(plugin.name);
  }
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("fixture_ok")));
  EXPECT_THROW(loader.load("fixture_ok"), PluginLoadError);
}

}  // namespace
}  // namespace genmem
