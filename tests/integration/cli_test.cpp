// Runs the genmem program as a user would and checks exit codes, messages and run folders.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shapes3d_test_file.hpp"
#include "test_support.hpp"

namespace genmem {
namespace {

namespace fs = std::filesystem;
using test_support::read_text;
using test_support::TempDir;
using test_support::write_text;
using ::testing::HasSubstr;

const fs::path kSource = GENMEM_SOURCE_DIR;
const fs::path kTiny = kSource / "tests/fixtures/scenarios/tiny_consolidation.toml";

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Result run_genmem(const std::string& arguments) {
  TempDir logs;
  const std::string command = std::string(GENMEM_PROGRAM) + " " + arguments + " >"
      + (logs / "out").string() + " 2>" + (logs / "err").string();
  const int status = std::system(command.c_str());
  return {
      WIFEXITED(status) ? WEXITSTATUS(status) : -1,
      read_text(logs / "out"),
      read_text(logs / "err")};
}

// The last line of standard error: the error message itself, after any log lines.
std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') {
    trimmed.pop_back();
  }
  const auto start = trimmed.rfind('\n');
  return start == std::string::npos ? trimmed : trimmed.substr(start + 1);
}

// Copies the tiny scenario into `dir` with its data folder made absolute.
fs::path tiny_scenario_in(const TempDir& dir, const std::string& data_dir) {
  std::string text = read_text(kTiny);
  const std::string from = "dir = \"../../../data\"";
  text.replace(text.find(from), from.size(), "dir = \"" + data_dir + "\"");
  write_text(dir / "tiny.toml", text);
  return dir / "tiny.toml";
}

// Checks the run's report.html: every file it refers to exists, and it shows each of
// `figures` (file names under figures/ without extension) as an image.
void expect_complete_report(const fs::path& run, const std::vector<std::string>& figures) {
  ASSERT_TRUE(fs::exists(run / "report.html")) << run;
  const std::string html = read_text(run / "report.html");
  const auto references = test_support::page_references(html);
  for (const auto& reference : references) {
    EXPECT_TRUE(fs::exists(run / reference)) << run << ": " << reference;
  }
  for (const auto& figure : figures) {
    const bool shown = references.count("figures/" + figure + ".svg") > 0
        || references.count("figures/" + figure + ".png") > 0;
    EXPECT_TRUE(shown) << run << ": " << figure;
  }
}

TEST(Cli, NoArgumentsPrintsUsage) {
  const Result result = run_genmem("");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.out, HasSubstr("Usage: genmem COMMAND"));
}

TEST(Cli, UnknownOptionIsUsageError) {
  const Result result = run_genmem("run " + kTiny.string() + " --sed 3");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("unrecognised option '--sed'"));
}

TEST(Cli, OutOfRangeOptionValuesAreUsageErrors) {
  const Result threads = run_genmem("run " + kTiny.string() + " --threads 0");
  EXPECT_EQ(threads.exit_code, 2);
  EXPECT_THAT(threads.err, HasSubstr("--threads must be 1 to 256 (got 0)"));
  const Result seed = run_genmem("run " + kTiny.string() + " --seed -4");
  EXPECT_EQ(seed.exit_code, 2);
  EXPECT_THAT(seed.err, HasSubstr("--seed must be at least 0 (got -4)"));
  const Result compare_threads = run_genmem("compare " + kTiny.string() + " --threads 300");
  EXPECT_EQ(compare_threads.exit_code, 2);
  EXPECT_THAT(compare_threads.err, HasSubstr("--threads must be 1 to 256 (got 300)"));
  const Result seeds = run_genmem("compare " + kTiny.string() + " --seeds 0");
  EXPECT_EQ(seeds.exit_code, 2);
  EXPECT_THAT(seeds.err, HasSubstr("--seeds must be 1 to 1000 (got 0)"));
}

TEST(Cli, SetWithoutKeyIsUsageError) {
  const Result result = run_genmem("run " + kTiny.string() + " --set foo");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(
      last_line(result.err), HasSubstr("genmem run: --set 'foo': expected key=value, for example"));
  const Result validate = run_genmem("validate " + kTiny.string() + " --set =3");
  EXPECT_EQ(validate.exit_code, 2);
  EXPECT_THAT(last_line(validate.err), HasSubstr("--set '=3': expected key=value"));
}

TEST(Cli, OptionWithoutValueIsNamed) {
  const Result result = run_genmem("compare " + kTiny.string() + " --metric --output /tmp/x");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(
      result.err,
      HasSubstr("genmem compare: more than one SCENARIO given, or an option is missing its "
                "value"));
}

TEST(Cli, PluginsListsBothRoles) {
  const Result result = run_genmem("plugins");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.out, HasSubstr("modern_hopfield"));
  EXPECT_THAT(result.out, HasSubstr("associative memory"));
  EXPECT_THAT(result.out, HasSubstr("vae"));
  EXPECT_THAT(result.out, HasSubstr("generative model"));
}

TEST(Cli, DescribeShowsDefaultsAndRanges) {
  const Result result = run_genmem("plugins --describe modern_hopfield");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.out, HasSubstr("beta"));
  EXPECT_THAT(result.out, HasSubstr("default 20.0"));
  EXPECT_THAT(result.out, HasSubstr("inv_sqrt_dim | none"));

  // A step kind is described in the same way.
  const Result misspelt_step = run_genmem("plugins --describe stor");
  EXPECT_EQ(misspelt_step.exit_code, 1);
  EXPECT_THAT(
      last_line(misspelt_step.err), HasSubstr("; or, for a step kind, did you mean 'store'?"));
  const Result step = run_genmem("plugins --describe store");
  EXPECT_EQ(step.exit_code, 0);
  EXPECT_THAT(step.out, HasSubstr("Parameters ([[steps]] run = \"store\" keys):"));
  EXPECT_THAT(step.out, HasSubstr("checkpoint           boolean  default false"));

  // `plugins` takes no scenario, and its usage error states that.
  const Result extra = run_genmem("plugins extra");
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_THAT(
      last_line(extra.err), HasSubstr("genmem plugins: it takes no arguments besides options"));
}

TEST(Cli, ValidatePrintsResolvedScenario) {
  const Result result =
      run_genmem("validate " + kTiny.string() + " --set models.hippocampus.beta=7");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("beta = 7.0"));
  EXPECT_THAT(result.out, HasSubstr("max_steps = 10"));

  // A --plugin-path that names a file is warned about once, though validation searches the
  // plugin folders more than once.
  const std::string readme = (kSource / "README.md").string();
  const Result file_path = run_genmem("validate " + kTiny.string() + " --plugin-path " + readme);
  EXPECT_EQ(file_path.exit_code, 0) << file_path.err;
  const std::string warning = "plugin folder '" + readme + "' is a file, not a folder";
  const std::string& err = file_path.err;
  EXPECT_NE(err.find(warning), std::string::npos) << err;
  EXPECT_EQ(err.find(warning, err.find(warning) + 1), std::string::npos) << err;
}

// Every scenario that ships with genmem passes validation, so a change to a step's parameters
// cannot leave one of them behind.
TEST(Cli, EveryShippedScenarioValidates) {
  std::set<std::string> checked;
  for (const auto& entry : fs::recursive_directory_iterator(kSource / "scenarios")) {
    if (entry.path().extension() != ".toml") {
      continue;
    }
    const Result result = run_genmem("validate " + entry.path().string());
    EXPECT_EQ(result.exit_code, 0) << entry.path() << ": " << last_line(result.err);
    EXPECT_THAT(result.out, HasSubstr("[scenario]")) << entry.path();
    checked.insert(entry.path().lexically_relative(kSource / "scenarios").generic_string());
  }
  EXPECT_TRUE(checked.contains("mnist/consolidation.toml"));
  EXPECT_TRUE(checked.contains("shapes3d/boundary-extension-quick.toml"));
}

TEST(Cli, MisspeltSetKeyFailsInOneLine) {
  const Result result =
      run_genmem("validate " + kTiny.string() + " --set models.neocortex.epoch=2");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << result.err;
  EXPECT_THAT(
      result.err, HasSubstr("unknown key 'models.neocortex.epoch'; did you mean 'epochs'?"));
}

TEST(Cli, MissingScenarioFile) {
  const Result result = run_genmem("run /nonexistent/scenario.toml");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(last_line(result.err), HasSubstr("could not be opened: no such file"));
}

TEST(Cli, MissingIdxFileLeavesNoRunFolder) {
  TempDir dir;
  const fs::path scenario = tiny_scenario_in(dir, (dir / "empty-data").string());
  const Result result =
      run_genmem("run " + scenario.string() + " -q --output " + (dir / "run").string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(last_line(result.err), HasSubstr("train-images-idx3-ubyte' is missing"));
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(Cli, TruncatedIdxFileRejected) {
  TempDir dir;
  fs::create_directories(dir / "data/mnist");
  for (const auto& entry : fs::directory_iterator(kSource / "data/mnist")) {
    fs::copy_file(entry.path(), dir / "data/mnist" / entry.path().filename());
  }
  const fs::path images = dir / "data/mnist/t10k-images-idx3-ubyte";
  fs::resize_file(images, 5000);
  const fs::path scenario = tiny_scenario_in(dir, (dir / "data").string());
  const Result result =
      run_genmem("run " + scenario.string() + " -q --output " + (dir / "run").string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(last_line(result.err), HasSubstr("t10k-images-idx3-ubyte' is truncated"));
}

TEST(Cli, UnwritableOutputRejected) {
  TempDir dir;
  write_text(dir / "file", "x");
  const Result result =
      run_genmem("run " + kTiny.string() + " -q --output " + (dir / "file/run").string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(last_line(result.err), HasSubstr("could not create output folder"));
}

TEST(Cli, EarlierRunNeverOverwritten) {
  TempDir dir;
  fs::create_directories(dir / "run");
  write_text(dir / "run/summary.json", "{\"earlier\": 1}\n");
  const Result result =
      run_genmem("run " + kTiny.string() + " -q --output " + (dir / "run").string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(last_line(result.err), HasSubstr("already exists and is not empty"));
  EXPECT_EQ(read_text(dir / "run/summary.json"), "{\"earlier\": 1}\n");
}

TEST(Cli, CudaOnCpuBuildRejected) {
  const Result result = run_genmem("validate " + kTiny.string() + " --set scenario.device=cuda");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("device is \"cuda\", but this LibTorch"));
}

TEST(Cli, DivergingTrainingStopsAndSaysSo) {
  TempDir dir;
  const Result result = run_genmem(
      "run " + kTiny.string() + " -q --output " + (dir / "run").string()
      + " --set models.neocortex.learning_rate=1e30 --set models.neocortex.loss=l1"
      + " --set steps.4.map_items=2");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(last_line(result.err), HasSubstr("loss became NaN at epoch 1"));
  EXPECT_THAT(last_line(result.err), HasSubstr("lower learning_rate"));
  EXPECT_THAT(last_line(result.err), HasSubstr("no epoch completed, so there is no checkpoint"));
  const auto manifest = nlohmann::json::parse(read_text(dir / "run/manifest.json"));
  EXPECT_EQ(manifest["status"], "failed");
  EXPECT_TRUE(fs::exists(dir / "run/metrics.csv"));
}

TEST(Cli, ImpossibleAllocationFailsInOneLine) {
  TempDir dir;
  // 1e11 cues of 784 values need 313.6 TB. That exceeds the 128 TB user address space of x86-64
  // with 4-level paging, and memory under Linux's default overcommit check, so it fails at once.
  const Result result = run_genmem(
      "run " + kTiny.string() + " -q --output " + (dir / "run").string()
      + " --set steps.2.cues=100000000000");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, last_line(result.err) + "\n");
  EXPECT_THAT(result.err, HasSubstr("step 2 (replay): out of memory: 313600.0 GB requested"));
  EXPECT_THAT(result.err, HasSubstr("lower this step's sizes (such as cues, items or dim)"));
  const auto manifest = nlohmann::json::parse(read_text(dir / "run/manifest.json"));
  EXPECT_EQ(manifest["status"], "failed");
  EXPECT_THAT(manifest["error"].get<std::string>(), HasSubstr("out of memory"));
}

TEST(Cli, InterruptStopsAnAnalysisStepBetweenItsParts) {
  TempDir dir;
  // A capacity step over 1,200 memory sizes runs for over a minute. The signal after 6 s arrives
  // while it runs, so the step must stop before its next size to end within 20 s.
  std::string sizes;
  for (int size = 1000; size < 2200; ++size) {
    if (!sizes.empty()) {
      sizes += ',';
    }
    sizes += std::to_string(size);
  }
  const std::string command = std::string(GENMEM_PROGRAM) + " run "
      + (kSource / "scenarios/memory/capacity.toml").string()
      + " -q --set data.dir=" + (kSource / "data").string()
      + " --set data.train_items=200 --set steps.2.sizes=[10]" + " --set steps.1.sizes=[" + sizes
      + "] --set steps.1.cues=200 --output " + (dir / "run").string() + " 2>"
      + (dir / "err").string() + " & pid=$!; sleep 6; kill -INT $pid; wait $pid";
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system(("bash -c '" + command + "'").c_str());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_text(dir / "err");
  EXPECT_LT(seconds, 20.0);
  EXPECT_THAT(last_line(read_text(dir / "err")), HasSubstr("run interrupted by SIGINT (Ctrl-C)"));
  const auto manifest = nlohmann::json::parse(read_text(dir / "run/manifest.json"));
  EXPECT_EQ(manifest["status"], "interrupted");
}

TEST(Cli, InterruptedRunRecordsStatus) {
  TempDir dir;
  // With 1,000 epochs and no early stopping the tiny run trains for minutes, so after 6 s it is
  // training, past data loading and set-up, and still running. The blanks around the second
  // assignment's '=' are left out of the manifest.
  const std::string command = std::string(GENMEM_PROGRAM) + " run " + kTiny.string()
      + " -q --set models.neocortex.epochs=1000 --set \"models.neocortex.patience = 0\" --output "
      + (dir / "run").string() + " 2>" + (dir / "err").string()
      + " & pid=$!; sleep 6; kill -INT $pid; wait $pid";
  const int status = std::system(("bash -c '" + command + "'").c_str());
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_THAT(last_line(read_text(dir / "err")), HasSubstr("run interrupted by SIGINT (Ctrl-C)"));
  const auto manifest = nlohmann::json::parse(read_text(dir / "run/manifest.json"));
  EXPECT_EQ(manifest["status"], "interrupted");
  EXPECT_EQ(
      manifest["overrides"],
      nlohmann::json({"models.neocortex.epochs=1000", "models.neocortex.patience=0"}));
  EXPECT_TRUE(fs::exists(dir / "run/summary.json"));
}

TEST(Cli, TinyConsolidationLearns) {
  TempDir dir;
  const Result result =
      run_genmem("run " + kTiny.string() + " -q --output " + (dir / "run").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;

  const auto summary = nlohmann::json::parse(read_text(dir / "run/summary.json"));
  const auto& training = summary["training"];
  // Chance is 0.1 for ten digits.
  EXPECT_GT(training["decoding_accuracy_after"].get<double>(), 0.3);
  EXPECT_LT(
      training["reconstruction_error_after"].get<double>(),
      training["reconstruction_error_before"].get<double>());
  EXPECT_GT(summary["replay"]["distinct_memories"].get<int>(), 10);
  EXPECT_EQ(summary["stored_patterns"].get<int>(), 1000);

  const std::string metrics = read_text(dir / "run/metrics.csv");
  EXPECT_THAT(metrics, HasSubstr("epoch,loss,reconstruction,kl,test_reconstruction_error"));
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 5);  // header and epochs 0 to 3

  for (const char* file :
       {"scenario.toml",
        "manifest.json",
        "checkpoints/neocortex.pt",
        "figures/replay.png",
        "figures/generative_recall.png",
        "figures/hippocampal_recall.png",
        "figures/interpolation.png",
        "figures/vector_arithmetic.png",
        "figures/latent_map.png"}) {
    EXPECT_TRUE(fs::exists(dir / "run" / file)) << file;
  }
  const auto manifest = nlohmann::json::parse(read_text(dir / "run/manifest.json"));
  EXPECT_EQ(manifest["status"], "completed");
  EXPECT_EQ(manifest["seed"], 5);
  EXPECT_EQ(manifest["overrides"], nlohmann::json::array());
}

// Runs the tiny scenario, cut to one epoch and no latent map, into `dir/name`.
Result run_tiny_into(const TempDir& dir, const std::string& name, const std::string& extra) {
  return run_genmem(
      "run " + kTiny.string() + " -q --set models.neocortex.epochs=1 --set steps.4.latent_map=none "
      + extra + " --output " + (dir / name).string());
}

nlohmann::json replay_summary(const TempDir& dir, const std::string& name) {
  return nlohmann::json::parse(read_text(dir / name / "summary.json"))["replay"];
}

TEST(Cli, ReplaysReusedOnlyWhenSettingsMatch) {
  TempDir dir;
  ASSERT_EQ(run_tiny_into(dir, "first", "").exit_code, 0);
  EXPECT_EQ(replay_summary(dir, "first")["reused_from"], "");
  const std::string states = read_text(dir / "first/replays/states.bin");
  EXPECT_GT(states.size(), 1000U * 784 * 4);

  // The same settings reuse the first run's replays, which this run then also holds.
  const Result second = run_tiny_into(dir, "second", "");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(replay_summary(dir, "second")["reused_from"], (dir / "first").string());
  EXPECT_EQ(read_text(dir / "second/replays/states.bin"), states);
  EXPECT_EQ(
      replay_summary(dir, "second")["distinct_memories"],
      replay_summary(dir, "first")["distinct_memories"]);

  // A forced recomputation, another beta and another seed all recompute.
  ASSERT_EQ(run_tiny_into(dir, "forced", "--recompute-replays").exit_code, 0);
  EXPECT_EQ(replay_summary(dir, "forced")["reused_from"], "");
  EXPECT_EQ(read_text(dir / "forced/replays/states.bin"), states);
  ASSERT_EQ(run_tiny_into(dir, "beta", "--set models.hippocampus.beta=10").exit_code, 0);
  EXPECT_EQ(replay_summary(dir, "beta")["reused_from"], "");
  ASSERT_EQ(run_tiny_into(dir, "seed", "--seed 6").exit_code, 0);
  EXPECT_EQ(replay_summary(dir, "seed")["reused_from"], "");
}

TEST(Cli, RunEndsWithHeadlineNumbersAndReport) {
  TempDir dir;
  const Result run = run_tiny_into(dir, "run", "");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto summary = nlohmann::json::parse(read_text(dir / "run/summary.json"));
  const double accuracy = summary["training"]["decoding_accuracy_after"].get<double>();
  // One line per number, keys padded to a common width.
  EXPECT_THAT(
      run.out,
      ::testing::ContainsRegex(
          fmt::format("\n  training\\.decoding_accuracy_after +{:.4g}\n", accuracy)));
  EXPECT_THAT(run.out, HasSubstr("Report: " + (dir / "run/report.html").string() + "\n"));
  const std::string report = read_text(dir / "run/report.html");
  EXPECT_THAT(report, HasSubstr("src=\"figures/training_curves.svg\""));
  EXPECT_THAT(report, HasSubstr("Replay: uniform-noise cues"));

  // genmem report redraws a plot whose script was edited, and writes the report again.
  const fs::path script = dir / "run/figures/training_curves.gp";
  std::string text = read_text(script);
  const std::string title = "tiny-consolidation: training";
  ASSERT_NE(text.find(title), std::string::npos) << text;
  text.replace(text.find(title), title.size(), "Restyled curves");
  write_text(script, text);
  fs::remove(dir / "run/report.html");
  fs::remove(dir / "run/figures/training_curves.svg");
  const Result report_again = run_genmem("report " + (dir / "run").string());
  ASSERT_EQ(report_again.exit_code, 0) << report_again.err;
  EXPECT_THAT(report_again.out, HasSubstr("report.html"));
  EXPECT_TRUE(fs::exists(dir / "run/report.html"));
  EXPECT_THAT(read_text(dir / "run/figures/training_curves.svg"), HasSubstr("Restyled curves"));
}

TEST(Cli, OpenMpThreadsWaitPassivelyUnlessSet) {
  TempDir dir;
  write_text(
      dir / "small.toml",
      "[data]\nsource = \"mnist\"\ndir = \"" + (kSource / "data").string()
          + "\"\ntrain_items = 50\ntest_items = 2\n\n[models.hippocampus]\n"
            "plugin = \"modern_hopfield\"\n\n[[steps]]\nrun = \"store\"\n\n[[steps]]\n"
            "run = \"replay\"\ncues = 5\n");
  const auto policy_of = [&](const std::string& environment, const std::string& name) {
    const std::string command = environment + " " + GENMEM_PROGRAM + " run "
        + (dir / "small.toml").string() + " -q --output " + (dir / name).string()
        + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return nlohmann::json::parse(read_text(dir / name / "manifest.json"))["omp_wait_policy"];
  };
  // genmem starts itself again with the passive policy, and keeps a policy the user set.
  EXPECT_EQ(policy_of("env -u OMP_WAIT_POLICY", "unset"), "PASSIVE");
  EXPECT_EQ(policy_of("env OMP_WAIT_POLICY=ACTIVE", "active"), "ACTIVE");
}

TEST(Cli, ReportOfAFolderThatIsNotARunFails) {
  TempDir dir;
  const Result missing = run_genmem("report " + (dir / "nowhere").string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(
      last_line(missing.err),
      HasSubstr("nowhere' does not exist; give a run folder (made by genmem run) or a comparison "
                "folder"));
  write_text(dir / "file", "not a folder");
  const Result file = run_genmem("report " + (dir / "file").string());
  EXPECT_EQ(file.exit_code, 1);
  EXPECT_THAT(last_line(file.err), HasSubstr("is not a folder; give a folder made by"));
  const Result empty = run_genmem("report " + dir.path().string());
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_THAT(last_line(empty.err), HasSubstr("has no manifest.json"));
  EXPECT_FALSE(fs::exists(dir / "report.html"));
  const Result no_folder = run_genmem("report");
  EXPECT_EQ(no_folder.exit_code, 2);
  EXPECT_THAT(no_folder.err, HasSubstr("a folder is required"));
}

TEST(Cli, DamagedSavedReplaysAreRecomputed) {
  TempDir dir;
  ASSERT_EQ(run_tiny_into(dir, "first", "").exit_code, 0);
  const fs::path states = dir / "first/replays/states.bin";
  fs::resize_file(states, fs::file_size(states) / 2);
  const Result second = run_tiny_into(dir, "second", "");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.err, HasSubstr("is damaged (its size does not match its header)"));
  EXPECT_EQ(replay_summary(dir, "second")["reused_from"], "");
  EXPECT_GT(fs::file_size(dir / "second/replays/states.bin"), fs::file_size(states));
}

const fs::path kTinyShapes3d = kSource / "tests/fixtures/scenarios/tiny_shapes3d.toml";

TEST(Cli, Shapes3dScenarioRunsOnRenderedScenes) {
  TempDir dir;
  const Result result =
      run_genmem("run " + kTinyShapes3d.string() + " -q --output " + (dir / "run").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string metrics = read_text(dir / "run/metrics.csv");
  // The shape label, then every factor in name order, each decoded every epoch.
  EXPECT_THAT(
      metrics,
      HasSubstr("decoding_accuracy,decoding_floor_hue,decoding_object_hue,decoding_orientation,"
                "decoding_scale,decoding_shape,decoding_wall_hue,seconds"));
  const auto summary = nlohmann::json::parse(read_text(dir / "run/summary.json"));
  EXPECT_EQ(summary["stored_patterns"].get<int>(), 300);
  // The label is the shape, so its two decoding columns agree.
  EXPECT_EQ(
      summary["training"]["decoding_accuracy_after"],
      summary["training"]["factor_decoding_after"]["shape"]);
}

TEST(Cli, Shapes3dScenarioRunsUnchangedOnHdf5File) {
  TempDir dir;
  test_support::Shapes3dTestLayout layout;
  layout.records = 2000;  // a training pool of 1,800 and a test pool of 200
  test_support::write_shapes3d_test_file(dir / "3dshapes.h5", layout);
  const Result result = run_genmem(
      "run " + kTinyShapes3d.string() + " -q --set data.source=shapes3d --set data.file="
      + (dir / "3dshapes.h5").string() + " --output " + (dir / "run").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("has 2000 records, not the published 480000"));
  const std::string resolved = read_text(dir / "run/scenario.toml");
  EXPECT_THAT(resolved, HasSubstr("source = 'shapes3d'"));
  EXPECT_THAT(resolved, HasSubstr("file = '" + (dir / "3dshapes.h5").string() + "'"));
  const auto summary = nlohmann::json::parse(read_text(dir / "run/summary.json"));
  EXPECT_EQ(summary["stored_patterns"].get<int>(), 300);
}

TEST(Cli, MismatchedArchitectureLeavesNoRunFolder) {
  TempDir dir;
  const Result result = run_genmem(
      "run " + kTinyShapes3d.string() + " -q --set models.neocortex.architecture=mnist_small"
      + " --output " + (dir / "run").string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(
      last_line(result.err),
      HasSubstr("the neocortex (architecture 'mnist_small') takes images of shape 1x28x28, but "
                "the shapes3d_rendered data's images are 3x64x64"));
  EXPECT_THAT(last_line(result.err), HasSubstr("choose models.neocortex.architecture"));
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(Cli, ValidateRejectsMismatchedArchitecture) {
  const Result mismatched = run_genmem(
      "validate " + kTinyShapes3d.string() + " --set models.neocortex.architecture=mnist_small");
  EXPECT_EQ(mismatched.exit_code, 1);
  EXPECT_THAT(
      last_line(mismatched.err),
      HasSubstr("takes images of shape 1x28x28, but the shapes3d_rendered data's images are "
                "3x64x64"));
  const Result fitting = run_genmem(
      "validate " + kTinyShapes3d.string() + " --set data.source=mnist"
      + " --set models.neocortex.architecture=mnist_small");
  EXPECT_EQ(fitting.exit_code, 0) << fitting.err;
}

TEST(Cli, Shapes3dFileWithWrongLayoutLeavesNoRunFolder) {
  TempDir dir;
  test_support::Shapes3dTestLayout layout;
  layout.image_side = 32;
  test_support::write_shapes3d_test_file(dir / "3dshapes.h5", layout);
  const Result result = run_genmem(
      "run " + kTinyShapes3d.string() + " -q --set data.source=shapes3d --set data.file="
      + (dir / "3dshapes.h5").string() + " --output " + (dir / "run").string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(
      last_line(result.err),
      HasSubstr("dataset 'images' has shape [200, 32, 32, 3], expected [N, 64, 64, 3]"));
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(Cli, QuickDistortionsMakeDigitsPrototypical) {
  TempDir dir;
  const fs::path scenario = kSource / "scenarios/mnist/prototypical-distortions-quick.toml";
  const Result result = run_genmem(
      "run " + scenario.string() + " --set data.dir=" + (kSource / "data").string() + " --output "
      + (dir / "run").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // The scenario trains with `measure = false`, and the log states that instead of showing NaN.
  EXPECT_THAT(
      result.err, HasSubstr("before training: test figures not measured (measure = false)"));
  EXPECT_THAT(result.err, ::testing::Not(HasSubstr("nan")));
  const auto summary = nlohmann::json::parse(read_text(dir / "run/summary.json"));
  const auto& variance = summary["class_variance"];
  EXPECT_TRUE(variance["outputs_less_variable_for_every_class"].get<bool>());
  ASSERT_EQ(variance["classes"].size(), 10U);
  for (const auto& entry : variance["classes"]) {
    const double inputs = entry["inputs"]["mean"].get<double>();
    const double outputs = entry["outputs"]["mean"].get<double>();
    EXPECT_LT(outputs, inputs) << "digit " << entry["class"];
    // A VAE still on its mean-image plateau would give nearly constant outputs; this one must
    // reconstruct the individual digits.
    EXPECT_GT(outputs, 0.05 * inputs) << "digit " << entry["class"];
  }
  const auto& t_test = variance["t_test"];
  EXPECT_EQ(t_test["pairs"].get<int>(), 7840);
  EXPECT_LT(t_test["ci95_high"].get<double>(), 0.0);
  EXPECT_LT(t_test["p_value"].get<double>(), 1e-6);
  EXPECT_LT(t_test["cohens_d"].get<double>(), 0.0);
  const std::string csv = read_text(dir / "run/class_variance.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 21);  // header and 2 rows per digit
  expect_complete_report(dir / "run", {"class_variance_bars", "class_variance_box", "replay"});
}

TEST(Cli, ClassVarianceNeedsEnoughImagesPerClass) {
  TempDir dir;
  const fs::path scenario = kSource / "scenarios/mnist/prototypical-distortions-quick.toml";
  const Result result = run_genmem(
      "run " + scenario.string() + " -q --set data.dir=" + (kSource / "data").string()
      + " --set steps.4.per_class=200 --set models.neocortex.epochs=1 --set steps.2.cues=200"
      + " --output " + (dir / "run").string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(last_line(result.err), HasSubstr("(class_variance): the test set has only"));
  EXPECT_THAT(last_line(result.err), HasSubstr("but per_class is 200; raise [data] test_items"));
  const auto manifest = nlohmann::json::parse(read_text(dir / "run/manifest.json"));
  EXPECT_EQ(manifest["status"], "failed");
}

// Runs the quick Shapes3D analysis `name` (scenarios/shapes3d/<name>-quick.toml) on the model of
// the run folder `model` and returns its summary.
nlohmann::json run_quick_analysis(
    const TempDir& dir, const std::string& name, const fs::path& model) {
  const fs::path scenario = kSource / ("scenarios/shapes3d/" + name + "-quick.toml");
  const Result result = run_genmem(
      "run " + scenario.string() + " -q --set data.dir=" + (kSource / "data").string()
      + " --set steps.1.file=" + model.string() + " --output " + (dir / name).string());
  EXPECT_EQ(result.exit_code, 0) << name << ": " << result.err;
  if (result.exit_code != 0) {
    return nlohmann::json::object();
  }
  expect_complete_report(dir / name, {});
  return nlohmann::json::parse(read_text(dir / name / "summary.json"));
}

// The quick consolidation, then every quick analysis of its model: one test, so that the model
// is trained once.
TEST(Cli, QuickShapes3dConsolidationAndAnalyses) {
  TempDir dir;
  const fs::path model = dir / "consolidation";
  const fs::path scenario = kSource / "scenarios/shapes3d/consolidation-quick.toml";
  const Result result = run_genmem(
      "run " + scenario.string() + " -q --set data.dir=" + (kSource / "data").string()
      + " --set steps.4.latent_map=none --output " + model.string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto summary = nlohmann::json::parse(read_text(model / "summary.json"));
  const auto& training = summary["training"];
  EXPECT_EQ(training["epochs"].get<int>(), 8);
  EXPECT_GT(
      training["decoding_accuracy_after"].get<double>(),
      training["decoding_accuracy_before"].get<double>());
  EXPECT_LT(
      training["reconstruction_error_after"].get<double>(),
      0.2 * training["reconstruction_error_before"].get<double>());
  EXPECT_GT(summary["replay"]["distinct_memories"].get<int>(), 400);
  expect_complete_report(model, {"replay", "training_curves", "generative_recall"});

  // Few-shot decoding: the latent code beats the raw pixels with 200 examples or fewer.
  const auto few_shot = run_quick_analysis(dir, "few-shot", model)["few_shot"];
  EXPECT_TRUE(few_shot["latent_beats_input_up_to_200"].get<bool>()) << few_shot.dump();
  const auto& accuracy = few_shot["accuracy"];
  for (const char* layer : {"input", "conv1", "conv2", "conv3", "conv4", "latent_mean"}) {
    EXPECT_TRUE(accuracy.contains(layer)) << layer;
  }
  EXPECT_GT(accuracy["latent_mean"]["200"].get<double>(), accuracy["input"]["200"].get<double>());
  EXPECT_TRUE(fs::exists(dir / "few-shot/figures/few_shot.png"));

  // Boundary extension: zoomed-in scenes come back with a smaller object. (A VAE trained on replays
  // of rendered scenes does not contract zoomed-out scenes; docs/simulations.md has the numbers.)
  const auto boundary = run_quick_analysis(dir, "boundary-extension", model)["boundary_extension"];
  EXPECT_TRUE(boundary["zoomed_in_smaller"].get<bool>()) << boundary.dump();
  EXPECT_TRUE(boundary["zoomed_in_smaller_than_unzoomed"].get<bool>()) << boundary.dump();
  const auto& zooms = boundary["levels"];
  ASSERT_EQ(zooms.size(), 5U);
  // Beyond any bias of the measure itself: the object shrinks more at 120% than at 100%.
  EXPECT_LT(zooms[4]["mean"].get<double>(), zooms[2]["mean"].get<double>()) << boundary.dump();
  // Cropping enlarges the object and padding shrinks it, so the zoomed inputs' heights rise
  // with the zoom level.
  for (std::size_t level = 1; level < zooms.size(); ++level) {
    EXPECT_GT(
        zooms[level]["input_height_mean"].get<double>(),
        zooms[level - 1]["input_height_mean"].get<double>())
        << boundary.dump();
  }
  const std::string csv = read_text(dir / "boundary-extension/boundary_extension.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "item,scale,zoom,input_height,output_height,change");
  // The same with the object's height found by its hue instead of by k-means segments.
  const fs::path by_hue = dir / "boundary-by-hue";
  const Result hue_run = run_genmem(
      "run " + (kSource / "scenarios/shapes3d/boundary-extension-quick.toml").string()
      + " -q --set data.dir=" + (kSource / "data").string() + " --set steps.1.file="
      + model.string() + " --set steps.2.measure=object_hue --output " + by_hue.string());
  ASSERT_EQ(hue_run.exit_code, 0) << hue_run.err;
  const auto hue_levels =
      nlohmann::json::parse(read_text(by_hue / "summary.json"))["boundary_extension"]["levels"];
  ASSERT_EQ(hue_levels.size(), 5U);
  EXPECT_LT(hue_levels[4]["median"].get<double>(), hue_levels[2]["median"].get<double>())
      << hue_levels.dump();
  EXPECT_EQ(boundary["levels"].size(), 5U);
  EXPECT_TRUE(fs::exists(dir / "boundary-extension/figures/boundary_extension_box.png"));

  // The extended model: the stored sensory trace restores what the neocortex alone cannot draw,
  // such as the white squares, so recall is far closer to the scene than the VAE's own
  // reconstruction of the cue.
  const auto extended = run_quick_analysis(dir, "extended-model", model)["extended_recall"];
  EXPECT_TRUE(extended["elements_fall_with_threshold"].get<bool>()) << extended.dump();
  const auto& low = extended["thresholds"][0];
  EXPECT_DOUBLE_EQ(low["threshold"].get<double>(), 0.03);
  EXPECT_LT(
      low["mean_squared_error"].get<double>(),
      0.5 * low["mean_squared_error_neocortex_alone"].get<double>())
      << extended.dump();
  EXPECT_TRUE(fs::exists(dir / "extended-model/figures/extended_recall_t0.03.png"));
  EXPECT_TRUE(fs::exists(dir / "extended-model/figures/extended_noise_recall_t0.15.png"));

  // The error-threshold sweep: fewer sensory elements and more error in the recalls that end at
  // their own trace at every step up. Recalls that end at another scene make the error over all
  // recalls noisy from one threshold to the next, so that is compared between the ends of the
  // sweep.
  const auto sweep = run_quick_analysis(dir, "error-thresholds", model)["extended_recall"];
  EXPECT_TRUE(sweep["elements_fall_with_threshold"].get<bool>()) << sweep.dump();
  EXPECT_TRUE(sweep["own_recall_error_rises_with_threshold"].get<bool>()) << sweep.dump();
  EXPECT_DOUBLE_EQ(sweep["spearman_elements"]["rho"].get<double>(), -1.0);
  const auto& levels = sweep["thresholds"];
  ASSERT_EQ(levels.size(), 5U);
  EXPECT_GT(
      levels[4]["mean_squared_error"].get<double>(), levels[0]["mean_squared_error"].get<double>());
  EXPECT_TRUE(fs::exists(dir / "error-thresholds/figures/extended_thresholds.png"));
  EXPECT_TRUE(fs::exists(dir / "error-thresholds/figures/extended_recall_t0.1.png"));
  EXPECT_TRUE(fs::exists(dir / "error-thresholds/figures/extended_noise_recall_t0.1.png"));

  // Carmichael: every trace carries the concept's latent, so every recalled latent is nearer
  // the concept's than the cue's own.
  const auto carmichael = run_quick_analysis(dir, "carmichael", model)["carmichael"];
  ASSERT_EQ(carmichael["concepts"].size(), 2U) << carmichael.dump();
  for (const auto& concept_result : carmichael["concepts"]) {
    EXPECT_DOUBLE_EQ(concept_result["recalled_latent_nearer_concept"].get<double>(), 1.0);
  }
  // The same shares, one per concept, for the headline numbers.
  EXPECT_EQ(carmichael["recalled_latent_nearer_concept"], nlohmann::json({1.0, 1.0}));
  EXPECT_TRUE(fs::exists(dir / "carmichael/figures/carmichael_concept_2.png"));

  // Imagination: one figure per shape, each from the samples the classifier ranks highest.
  const auto imagination = run_quick_analysis(dir, "imagination", model)["imagination"];
  ASSERT_EQ(imagination["classes"].size(), 4U) << imagination.dump();
  ASSERT_EQ(imagination["re_encoded_as_class"].size(), 4U) << imagination.dump();
  for (int shape = 0; shape < 4; ++shape) {
    const auto& entry = imagination["classes"][shape];
    EXPECT_EQ(imagination["re_encoded_as_class"][shape], entry["re_encoded_as_class"]);
    EXPECT_GT(
        entry["mean_probability_of_top"].get<double>(), entry["mean_probability"].get<double>());
    EXPECT_TRUE(fs::exists(
        dir / ("imagination/figures/imagination_shape_" + std::to_string(shape) + ".png")));
  }
}

TEST(Cli, LoadWithoutCheckpointFailsInOneLine) {
  TempDir dir;
  const fs::path scenario = kSource / "scenarios/shapes3d/imagination-quick.toml";
  // Runs the scenario with its load step reading `file`, writing to `output`.
  auto run_loading = [&](const fs::path& file, const fs::path& output) {
    return run_genmem(
        "run " + scenario.string() + " -q --set data.dir=" + (kSource / "data").string()
        + " --set steps.1.file=" + file.string() + " --output " + output.string());
  };
  const Result result = run_loading(dir / "no-such-run", dir / "run");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(last_line(result.err), HasSubstr("step 1 (load): '"));
  EXPECT_THAT(last_line(result.err), HasSubstr("no-such-run' not found"));

  // The scenario itself is valid; validation warns that a run would stop on the checkpoint.
  const Result validated = run_genmem(
      "validate " + scenario.string() + " --set steps.1.file=" + (dir / "no-such-run").string());
  EXPECT_EQ(validated.exit_code, 0);
  EXPECT_THAT(validated.err, HasSubstr("imagination-quick.toml' is valid"));
  EXPECT_THAT(
      last_line(validated.err),
      HasSubstr(
          "genmem: warning: a run would stop now: scenario '" + scenario.string()
          + "' step 1 (load): '"));
  EXPECT_THAT(last_line(validated.err), HasSubstr("no-such-run' not found"));
  EXPECT_THAT(
      last_line(result.err),
      HasSubstr("run the scenario that trains the model to its end first, or set steps.1.file"));

  // A folder under runs/ is named after the scenario whose runs it keeps.
  const Result named = run_loading(dir / "runs/shapes3d-consolidation-quick", dir / "run0");
  EXPECT_EQ(named.exit_code, 1);
  EXPECT_THAT(
      last_line(named.err),
      HasSubstr("first (the one whose [scenario] name is 'shapes3d-consolidation-quick'), or set "
                "steps.1.file to a run folder or checkpoint"));

  // A folder that exists but contains no completed run with a checkpoint.
  fs::create_directories(dir / "empty-runs/20260101T000000Z");
  const Result empty = run_loading(dir / "empty-runs", dir / "run2");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_THAT(
      last_line(empty.err),
      HasSubstr("empty-runs' is not a checkpoint, a run folder with checkpoints/neocortex.pt"));
  // The step's file is checked before the run creates its folder.
  for (const char* output : {"run", "run0", "run2"}) {
    EXPECT_FALSE(fs::exists(dir / output)) << output;
  }

  // Runs that never finished are named with their status.
  write_text(dir / "empty-runs/20260101T000000Z/manifest.json", R"({"status": "interrupted"})");
  const Result unfinished = run_loading(dir / "empty-runs", dir / "run3");
  EXPECT_EQ(unfinished.exit_code, 1);
  EXPECT_THAT(
      last_line(unfinished.err),
      HasSubstr("empty-runs' contains 1 run (interrupted), but none completed with "
                "checkpoints/neocortex.pt"));

  // Runs that share a status are counted, not listed one by one.
  for (const char* run : {"20260102T000000Z", "20260103T000000Z"}) {
    fs::create_directories(dir / "empty-runs" / run);
    write_text(dir / "empty-runs" / run / "manifest.json", R"({"status": "failed"})");
  }
  const Result counted = run_loading(dir / "empty-runs", dir / "run4");
  EXPECT_EQ(counted.exit_code, 1);
  EXPECT_THAT(last_line(counted.err), HasSubstr("contains 3 runs (2 failed, interrupted)"));

  // Runs the scenario loading `file` into `output` and expects it to stop with `message` in its
  // one-line error before it creates its folder.
  auto expect_rejected =
      [&](const fs::path& file, const std::string& output, const std::string& message) {
        const Result rejected = run_loading(file, dir / output);
        EXPECT_EQ(rejected.exit_code, 1) << output;
        EXPECT_THAT(last_line(rejected.err), HasSubstr(message));
        EXPECT_FALSE(fs::exists(dir / output)) << output;
      };

  // Completed runs without a checkpoint come from a scenario that trains nothing.
  fs::create_directories(dir / "analysis-runs/20260101T000000Z");
  write_text(dir / "analysis-runs/20260101T000000Z/manifest.json", R"({"status": "completed"})");
  expect_rejected(
      dir / "analysis-runs",
      "run5",
      "contains 1 run (completed without a checkpoint), but none completed with "
      "checkpoints/neocortex.pt; runs of a scenario without a train step save no model; set "
      "steps.1.file to the runs of one with a train step");

  // The same for one such run named directly.
  expect_rejected(
      dir / "analysis-runs/20260101T000000Z",
      "run8",
      "20260101T000000Z' is a completed run without checkpoints/neocortex.pt; runs of a scenario "
      "without a train step save no model; set steps.1.file to the runs of one with a train "
      "step");

  // A folder whose every run changed its settings: the runs are named, not loaded.
  // Writes a completed run with a checkpoint into `run`, made on `source` with `manifest`.
  auto write_completed_run =
      [](const fs::path& run, const std::string& manifest, const std::string& source) {
        fs::create_directories(run / "checkpoints");
        write_text(run / "manifest.json", manifest);
        write_text(run / "scenario.toml", "[data]\nsource = '" + source + "'\n");
        write_text(run / "checkpoints/neocortex.pt", "weights");
      };
  write_completed_run(
      dir / "changed-runs/20260104T000000Z",
      R"({"status": "completed", "overrides": ["models.neocortex.epochs=2"]})",
      "shapes3d_rendered");
  expect_rejected(
      dir / "changed-runs",
      "run6",
      "changed-runs' has 1 completed run with checkpoints/neocortex.pt, but it was made with "
      "changed settings or on another data source than 'shapes3d_rendered': 20260104T000000Z "
      "(models.neocortex.epochs=2); to analyse it, set steps.1.file to its run folder");

  // Runs on another data source: naming one of them would not help, so the fix does not say to.
  write_completed_run(dir / "mnist-runs/20260105T000000Z", R"({"status": "completed"})", "mnist");
  expect_rejected(
      dir / "mnist-runs",
      "run9",
      "20260105T000000Z (data source 'mnist'); a model trained on another data source does not "
      "fit this scenario's images; run a scenario that trains a model on 'shapes3d_rendered' "
      "first, and set steps.1.file to its runs");

  // The same run named directly: its checkpoint is tried, and the error names the data source it
  // came from.
  expect_rejected(
      dir / "mnist-runs/20260105T000000Z",
      "run10",
      "; the checkpoint comes from a run on data source 'mnist', so a model trained on "
      "'shapes3d_rendered' is needed instead");

  // A damaged checkpoint, here a zip archive cut short.
  const fs::path damaged = dir / "damaged.pt";
  write_text(damaged, std::string("PK\x03\x04", 4) + "cut short");
  expect_rejected(
      damaged,
      "run7",
      "step 1 (load): plugin 'vae' failed in load: vae: model file '" + damaged.string()
          + "' is damaged: it is not a complete zip archive");
}

}  // namespace
}  // namespace genmem

namespace genmem {
namespace {

// Arguments that cut scenarios/memory/capacity.toml to seconds: 200 digits and patterns of
// length 100, stored 10 and 40 at a time, 20 cues each.
std::string quick_capacity_arguments() {
  return (kSource / "scenarios/memory/capacity.toml").string() + " --set data.dir="
      + (kSource / "data").string()
      + " --set data.train_items=200 --set steps.1.dim=100 --set 'steps.1.sizes=[10,40]'"
        " --set steps.1.cues=20 --set 'steps.2.sizes=[10,40]' --set steps.2.cues=20";
}

TEST(Cli, CompareRecordsFailuresAndResumes) {
  TempDir dir;
  const std::string command = "compare " + quick_capacity_arguments()
      + " --vary models.hippocampus.plugin=modern_hopfield,no_such_plugin --seeds 2 --output "
      + (dir / "comparison").string();
  const Result first = run_genmem(command + " -q");

  // One variant cannot load its plugin: it is named before any run, both its runs fail, and the
  // other variant's both complete.
  EXPECT_EQ(first.exit_code, 1);
  EXPECT_THAT(
      first.err,
      HasSubstr("compare: variant plugin=no_such_plugin is invalid and its runs will fail: "));
  EXPECT_THAT(last_line(first.err), HasSubstr("2 of 4 runs failed"));
  const std::string table = read_text(dir / "comparison/comparison.md");
  // 40 random patterns of length 100 are far within the modern network's capacity.
  EXPECT_THAT(
      table, HasSubstr("| plugin=modern_hopfield | 40 ± 0 (n=2) | 40 ± 0 (n=2) | 40 ± 0 (n=2) |"));
  EXPECT_THAT(
      table,
      HasSubstr("- plugin=no_such_plugin, seed 2: --vary or --set: plugin 'no_such_plugin' was not "
                "found"));
  const std::string csv = read_text(dir / "comparison/comparison.csv");
  EXPECT_THAT(
      csv,
      HasSubstr(
          "\"plugin=modern_hopfield\",2,capacity.random_binary.fraction_correct.corrupt_10.40,1\n"));
  EXPECT_TRUE(
      fs::exists(dir / "comparison/plots/capacity.random_binary.largest_n_exact.corrupt_10.png"));
  // The comparison report: the same table, links to each completed run's own report, and every
  // file it refers to exists.
  const std::string report = read_text(dir / "comparison/report.html");
  EXPECT_THAT(report, HasSubstr("<td class=\"number\">40 ± 0 (n=2)</td>"));
  EXPECT_THAT(report, HasSubstr("href=\"plugin-modern_hopfield/seed-1/report.html\""));
  for (const auto& reference : test_support::page_references(report)) {
    EXPECT_TRUE(fs::exists(dir / "comparison" / reference)) << reference;
  }
  expect_complete_report(
      dir / "comparison/plugin-modern_hopfield/seed-1", {"capacity_random_binary"});
  // The record names every variant, so the report lists the one without a completed run too.
  const auto record = nlohmann::json::parse(read_text(dir / "comparison/comparison.json"));
  EXPECT_EQ(record["status"], "completed");
  EXPECT_EQ(
      record["variants"], nlohmann::json({"plugin=modern_hopfield", "plugin=no_such_plugin"}));
  EXPECT_THAT(report, HasSubstr("2 variants · 4 runs</p>"));

  // A misspelt metric gets a suggestion, and the report does not ask for another run.
  const Result misspelt =
      run_genmem(command + " --metric capacity.random_binary.largest_n_exact.corupt_10");
  EXPECT_THAT(
      misspelt.err,
      HasSubstr("no run's summary.json has a number at "
                "'capacity.random_binary.largest_n_exact.corupt_10' (did you mean "
                "'capacity.random_binary.largest_n_exact.corrupt_10'?)"));
  EXPECT_THAT(misspelt.err, ::testing::Not(HasSubstr("contains no charts")));
  EXPECT_THAT(
      read_text(dir / "comparison/report.html"),
      HasSubstr("no completed run has a number at any of the chosen metrics"));

  // Mark one completed run as unfinished: the next comparison reuses the other, sets this one
  // aside and runs it again.
  const fs::path rerun = dir / "comparison/plugin-modern_hopfield/seed-2";
  auto manifest = nlohmann::json::parse(read_text(rerun / "manifest.json"));
  manifest["status"] = "interrupted";
  write_text(rerun / "manifest.json", manifest.dump());
  const Result second = run_genmem(command);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("seed 1: reusing"));
  EXPECT_THAT(
      second.err, HasSubstr("an earlier run was moved to " + rerun.string() + ".replaced-1"));
  EXPECT_EQ(
      nlohmann::json::parse(read_text(rerun.string() + ".replaced-1/manifest.json"))["status"],
      "interrupted");
  EXPECT_EQ(nlohmann::json::parse(read_text(rerun / "manifest.json"))["status"], "completed");

  // Changed settings: neither completed run is reused, and both earlier runs are kept.
  const Result third = run_genmem(command + " --set steps.1.cues=10");
  EXPECT_EQ(third.exit_code, 1);
  EXPECT_THAT(third.err, HasSubstr("ran with other settings, so it runs again"));
  EXPECT_THAT(third.err, ::testing::Not(HasSubstr("reusing")));
  EXPECT_TRUE(fs::exists(rerun.string() + ".replaced-2/summary.json"));
  EXPECT_TRUE(fs::exists(dir / "comparison/plugin-modern_hopfield/seed-1.replaced-1/summary.json"));

  // Without its plots folder, the report warns and names the command that draws the charts.
  fs::rename(dir / "comparison/plots", dir / "comparison/plots.kept");
  const Result chartless = run_genmem("report " + (dir / "comparison").string());
  EXPECT_EQ(chartless.exit_code, 0) << chartless.err;
  EXPECT_THAT(
      chartless.err,
      HasSubstr("plots' contains no charts; run the same genmem compare command again"));
  fs::rename(dir / "comparison/plots.kept", dir / "comparison/plots");

  // A file in place of the plots folder: the report names it and keeps the earlier page.
  const std::string earlier_report = read_text(dir / "comparison/report.html");
  fs::remove_all(dir / "comparison/plots");
  write_text(dir / "comparison/plots", "not a folder");
  const Result redrawn = run_genmem("report " + (dir / "comparison").string());
  EXPECT_EQ(redrawn.exit_code, 1);
  EXPECT_THAT(
      last_line(redrawn.err),
      HasSubstr(
          (dir / "comparison/plots").string()
          + "' is not a folder, so the comparison's "
            "plots cannot be shown; move it away"));
  EXPECT_EQ(read_text(dir / "comparison/report.html"), earlier_report);
}

TEST(Cli, ClassicalCapacityFollowsTheory) {
  TempDir dir;
  // --set replaces the plugin, and the scenario's beta and similarity_scale, which
  // classical_hopfield does not declare, are dropped rather than rejected.
  const Result result = run_genmem(
      "run " + quick_capacity_arguments()
      + " --set models.hippocampus.plugin=classical_hopfield --set 'steps.1.sizes=[5,40]' --output "
      + (dir / "run").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("does not declare beta, similarity_scale"));

  const auto summary = nlohmann::json::parse(read_text(dir / "run/summary.json"));
  const auto& random = summary["capacity"]["random_binary"];
  // 0.138 D for D = 100.
  EXPECT_NEAR(random["theory_capacity"].get<double>(), 13.8, 1e-9);
  // 5 patterns (0.05 D) come back exactly; 40 (0.4 D) are far beyond capacity.
  EXPECT_EQ(random["largest_n_exact"]["corrupt_10"].get<int>(), 5);
  EXPECT_LT(random["fraction_exact"]["corrupt_10"]["40"].get<double>(), 0.5);
  EXPECT_GT(random["mean_error"]["corrupt_10"]["40"].get<double>(), 0.05);
  expect_complete_report(dir / "run", {"capacity_random_binary"});
}

TEST(Cli, CapacityStepRestoresHippocampus) {
  TempDir dir;
  write_text(
      dir / "borrow.toml",
      "[data]\nsource = \"mnist\"\ndir = \"" + (kSource / "data").string()
          + "\"\ntrain_items = 200\ntest_items = 2\n\n[models.hippocampus]\n"
            "plugin = \"modern_hopfield\"\n\n[[steps]]\nrun = \"store\"\n\n[[steps]]\n"
            "run = \"capacity\"\ndim = 50\nsizes = [10]\ncues = 5\n\n[[steps]]\n"
            "run = \"replay\"\ncues = 20\n");
  const Result result = run_genmem(
      "run " + (dir / "borrow.toml").string() + " -q --output " + (dir / "run").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;

  // The replay after the capacity step recalls the 200 stored digits, not its random patterns.
  const auto summary = nlohmann::json::parse(read_text(dir / "run/summary.json"));
  EXPECT_EQ(summary["stored_patterns"].get<int>(), 200);
  EXPECT_GT(summary["replay"]["distinct_memories"].get<int>(), 1);
  EXPECT_LT(summary["replay"]["mean_distance_to_nearest_memory"].get<double>(), 0.01);
}

TEST(Cli, CompareNeverTakesOverARunFolder) {
  TempDir dir;
  const Result run =
      run_genmem("run " + quick_capacity_arguments() + " -q --output " + (dir / "run").string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string report = read_text(dir / "run/report.html");
  const Result compare = run_genmem(
      "compare " + quick_capacity_arguments() + " -q --output " + (dir / "run").string());
  EXPECT_EQ(compare.exit_code, 1);
  EXPECT_THAT(
      last_line(compare.err), HasSubstr("is the folder of a run (it contains manifest.json)"));
  EXPECT_THAT(last_line(compare.err), HasSubstr("choose a new --output"));
  EXPECT_EQ(read_text(dir / "run/report.html"), report);
  EXPECT_FALSE(fs::exists(dir / "run/comparison.csv"));

  // Nor a folder inside a run's folder.
  const Result inside = run_genmem(
      "compare " + quick_capacity_arguments() + " -q --output "
      + (dir / "run/figures/cmp").string());
  EXPECT_EQ(inside.exit_code, 1);
  EXPECT_THAT(last_line(inside.err), HasSubstr("is inside the folder of the run"));
  EXPECT_FALSE(fs::exists(dir / "run/figures/cmp"));
}

TEST(Cli, CompareRejectsVaryingAModelTheScenarioLacks) {
  TempDir dir;
  const Result result = run_genmem(
      "compare " + quick_capacity_arguments() + " -q --vary models.neocortex.latent_dim=2,3"
      + " --output " + (dir / "comparison").string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(
      last_line(result.err),
      HasSubstr("--vary models.neocortex.latent_dim: the scenario has no [models.neocortex]"));
  EXPECT_FALSE(fs::exists(dir / "comparison"));
}

TEST(Cli, CompareRejectsMalformedVary) {
  TempDir dir;
  const Result result = run_genmem(
      "compare " + quick_capacity_arguments() + " -q --vary models.hippocampus.beta --output "
      + (dir / "comparison").string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(
      last_line(result.err),
      HasSubstr("--vary 'models.hippocampus.beta': expected key=value1,value2"));
  EXPECT_FALSE(fs::exists(dir / "comparison"));
}

TEST(Cli, CompareRejectsVaryThatNeverApplies) {
  TempDir dir;
  const auto compare = [&](const std::string& options) {
    return run_genmem(
        "compare " + quick_capacity_arguments() + " -q " + options + " --output "
        + (dir / "comparison").string());
  };

  // A step that the scenario does not have makes every variant invalid.
  const Result missing_step = compare("--vary steps.5.cues=1,2");
  EXPECT_EQ(missing_step.exit_code, 1);
  EXPECT_THAT(
      last_line(missing_step.err),
      HasSubstr("compare: every variant is invalid, so nothing would run; the first is "));
  EXPECT_THAT(
      last_line(missing_step.err),
      HasSubstr("'steps.5' is not a step; the scenario has steps 1 to 2"));

  // The [compare] table chooses what runs, so its keys are not varied.
  const Result compare_key = compare("--vary compare.seeds=1,2");
  EXPECT_EQ(compare_key.exit_code, 1);
  EXPECT_THAT(
      last_line(compare_key.err),
      HasSubstr("--vary compare.seeds: the [compare] table chooses what a comparison runs"));

  // A mistyped seed count is caught before a thousand runs start.
  const Result seeds = compare("--vary models.hippocampus.beta=10,20 --seeds 1000000");
  EXPECT_EQ(seeds.exit_code, 2);
  EXPECT_THAT(last_line(seeds.err), HasSubstr("--seeds must be 1 to 1000 (got 1000000)"));
  EXPECT_FALSE(fs::exists(dir / "comparison"));
}

TEST(Cli, InterruptedCompareRecordsStatus) {
  TempDir dir;
  // 2 variants of 30 seeds make 60 runs of about 0.5 s each, so after 6 s the comparison is
  // still running.
  const std::string command = std::string(GENMEM_PROGRAM) + " compare " + quick_capacity_arguments()
      + " -q --vary models.hippocampus.plugin=modern_hopfield --vary models.hippocampus.beta=10,20"
      + " --seeds 30 " + "--output " + (dir / "comparison").string() + " 2>"
      + (dir / "err").string() + " & pid=\\$!; sleep 6; kill -INT \\$pid; wait \\$pid";
  // The outer shell must leave $! and $pid to bash, so they are escaped inside the quotes.
  const int status = std::system(("bash -c \"" + command + "\"").c_str());
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_text(dir / "err");
  EXPECT_THAT(
      last_line(read_text(dir / "err")),
      HasSubstr("comparison interrupted by SIGINT (Ctrl-C) after "));

  const auto record = nlohmann::json::parse(read_text(dir / "comparison/comparison.json"));
  EXPECT_EQ(record["status"], "interrupted");
  EXPECT_EQ(
      record["variants"],
      nlohmann::json({"plugin=modern_hopfield, beta=10", "plugin=modern_hopfield, beta=20"}));
  EXPECT_LT(record["runs"].size(), 60U);
  EXPECT_THAT(
      read_text(dir / "comparison/comparison.md"),
      HasSubstr("The comparison was interrupted, so the variants and seeds after the last run"));
  EXPECT_THAT(
      read_text(dir / "comparison/report.html"),
      HasSubstr(
          "2 variants · " + std::to_string(record["runs"].size())
          + " runs · interrupted: run the same genmem compare command again"));
}

// A second comparison into a folder that another one is writing to stops at once, and leaves
// that folder as it was.
TEST(Cli, CompareRejectsFolderInUse) {
  TempDir dir;
  fs::create_directories(dir / "comparison");
  // This test takes the lock that a running comparison would hold.
  const int descriptor =
      ::open((dir / "comparison/.compare.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(descriptor, 0);
  ASSERT_EQ(::flock(descriptor, LOCK_EX | LOCK_NB), 0);
  ASSERT_EQ(::write(descriptor, "4242", 4), 4);

  const Result result = run_genmem(
      "compare " + quick_capacity_arguments() + " -q --vary models.hippocampus.beta=10,20 "
      + "--output " + (dir / "comparison").string());
  ::close(descriptor);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(
      last_line(result.err),
      HasSubstr(
          "compare: another genmem compare (process 4242) is writing to '"
          + (dir / "comparison").string()
          + "'; wait for it to end, or choose another "
            "--output"));
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir / "comparison")) {
    entries.push_back(entry.path().filename());
  }
  EXPECT_EQ(entries, std::vector<fs::path>{".compare.lock"});
}

}  // namespace
}  // namespace genmem
