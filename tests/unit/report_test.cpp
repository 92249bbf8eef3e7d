#include "report.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <genmem/error.hpp>

#include "test_support.hpp"

namespace genmem {
namespace {

namespace fs = std::filesystem;
using test_support::read_text;
using test_support::TempDir;
using test_support::write_text;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

// Sets an environment variable for the life of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
    }
    ::setenv(name, value, 1);
  }

  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void write_png(const fs::path& path, int width, int height) {
  cv::imwrite(path.string(), cv::Mat(height, width, CV_8UC3, cv::Scalar(40, 120, 200)));
}

// A run folder as genmem run leaves it, with a replay figure, a figure no step declares,
// four epochs of metrics and a latent map.
void write_fixture_run(const fs::path& run) {
  fs::create_directories(run / "figures");
  fs::create_directories(run / "checkpoints");
  write_text(
      run / "manifest.json",
      R"({"scenario": "fixture", "status": "completed", "seed": 3, "threads": 2,
          "started": "2026-12-05T06:00:00Z", "finished": "2026-12-05T06:01:00Z",
          "wall_seconds": 61.5, "genmem_version": "0.1.0", "libtorch_version": "1.13.0",
          "plugins": [{"role": "hippocampus", "plugin": "modern_hopfield", "version": "1.0.0",
                       "file": "/x/libgenmem_plugin_modern_hopfield.so"}]})");
  write_text(
      run / "summary.json",
      R"({"replay": {"cues": 10, "class_fractions": [0.25, 0.75]},
          "training": {"decoding_accuracy_after": 0.812345}})");
  write_text(
      run / "scenario.toml",
      "[scenario]\nname = 'fixture'\ndescription = 'Stores <b>ten</b> digits & replays them'\n"
      "[[steps]]\nrun = 'store'\n[[steps]]\nrun = 'replay'\n[[steps]]\nrun = 'train'\n");
  write_text(
      run / "metrics.csv",
      "epoch,loss,reconstruction,kl,test_reconstruction_error,decoding_accuracy,seconds\n"
      "0,,,,410.5,0.25,0\n"
      "1,312.5,300,12.5,250.25,0.5,1\n"
      "2,201.75,190,11.75,180.5,0.625,1\n"
      "3,150.125,140,10.125,160.75,0.75,1\n");
  write_text(run / "latent_map.csv", "x,y,label\n0,0,0\n1,1,0\n5,5,1\n6,5,1\n");
  write_png(run / "figures" / "replay.png", 40, 20);
  write_png(run / "figures" / "mystery_plot.png", 10, 10);
  write_text(run / "checkpoints" / "neocortex.pt", "weights");
}

void expect_references_exist(const fs::path& folder, const std::string& html) {
  const auto found = test_support::page_references(html);
  EXPECT_FALSE(found.empty());
  for (const auto& reference : found) {
    EXPECT_THAT(reference, Not(HasSubstr("://"))) << "the report must work offline";
    EXPECT_TRUE(fs::exists(folder / reference)) << reference;
  }
}

TEST(Report, HeadlineNumbersFlattenTheSummary) {
  const auto numbers = headline_numbers(nlohmann::json::parse(
      R"({"replay": {"cues": 10, "fractions": [0.25, 0.75], "levels": [{"a": 1}]},
          "training": {"accuracy": 0.812345, "stopped": false, "big": 2500.0},
          "scenario": "x"})"));
  EXPECT_THAT(
      numbers,
      ElementsAre(
          Pair("replay.cues", "10"),
          Pair("replay.fractions", "0.25, 0.75"),
          Pair("scenario", "x"),
          Pair("training.accuracy", "0.8123"),
          Pair("training.big", "2500"),
          Pair("training.stopped", "no")));
}

TEST(Report, DisplayNumbersKeepWholeNumbersAndFourDigits) {
  EXPECT_EQ(format_display_number(2500.0), "2500");
  EXPECT_EQ(format_display_number(-3.0), "-3");
  EXPECT_EQ(format_display_number(0.812345), "0.8123");
  EXPECT_EQ(format_display_number(123456.7), "1.235e+05");
  EXPECT_EQ(format_display_number(1e20), "1e+20");
}

TEST(Report, RunReportShowsEveryFigureWithItsCaption) {
  TempDir dir;
  const fs::path run = dir / "run";
  write_fixture_run(run);

  const fs::path report = write_run_report(run, PlotRedraw::kAll);
  ASSERT_EQ(report, run / "report.html");
  const std::string html = read_text(report);

  // Text from the folder's files, escaped.
  EXPECT_THAT(html, HasSubstr("<h1>fixture</h1>"));
  EXPECT_THAT(html, HasSubstr("Stores &lt;b&gt;ten&lt;/b&gt; digits &amp; replays them"));
  EXPECT_THAT(
      html, HasSubstr("<th>training.decoding_accuracy_after</th><td class=\"number\">0.8123"));
  EXPECT_THAT(html, HasSubstr("<th>replay.class_fractions</th><td>0.25, 0.75</td>"));
  EXPECT_THAT(html, HasSubstr("modern_hopfield 1.0.0"));
  EXPECT_THAT(html, HasSubstr("61.5 s"));
  EXPECT_THAT(html, HasSubstr("<td class=\"number\">312.5</td>"));

  // The replay step's caption; a figure no step declares keeps its file name.
  EXPECT_THAT(html, HasSubstr("Replay: uniform-noise cues (top row)"));
  EXPECT_THAT(html, HasSubstr("<figcaption>Mystery plot "));
  // The train step's curves come before the figure no step declares.
  EXPECT_LT(html.find("Training curves:"), html.find("Mystery plot"));
  EXPECT_LT(html.find("Replay: uniform"), html.find("Training curves:"));

  // Plots drawn from metrics.csv and latent_map.csv, each with its data and script.
  for (const char* file :
       {"training_curves.svg",
        "training_curves.png",
        "training_curves.gp",
        "training_curves.dat",
        "latent_map.svg",
        "latent_map.png",
        "latent_map.gp",
        "latent_map.dat"}) {
    EXPECT_TRUE(fs::exists(run / "figures" / file)) << file;
  }
  const std::string curves = read_text(run / "figures" / "training_curves.dat");
  for (const char* value : {"312.5", "201.75", "150.125", "410.5", "160.75", "0.625"}) {
    EXPECT_THAT(curves, HasSubstr(value));
  }
  EXPECT_THAT(html, HasSubstr("src=\"figures/training_curves.svg\""));
  EXPECT_THAT(html, HasSubstr("src=\"figures/replay.png\""));
  EXPECT_THAT(html, HasSubstr("href=\"checkpoints/neocortex.pt\""));
  expect_references_exist(run, html);
}

TEST(Report, MissingGnuplotLeavesPlotsOut) {
  TempDir dir;
  const fs::path run = dir / "run";
  write_fixture_run(run);
  {
    const ScopedEnv no_gnuplot("GENMEM_GNUPLOT", "/nonexistent/gnuplot");
    const std::string html = read_text(write_run_report(run, PlotRedraw::kAll));
    EXPECT_THAT(html, HasSubstr("gnuplot was not found"));
    EXPECT_FALSE(fs::exists(run / "figures" / "training_curves.png"));
    EXPECT_FALSE(fs::exists(run / "figures" / "training_curves.svg"));
    // The data and script are kept, so a later genmem report can draw the plot.
    EXPECT_TRUE(fs::exists(run / "figures" / "training_curves.gp"));
    EXPECT_THAT(html, Not(HasSubstr("training_curves.svg")));
    EXPECT_THAT(html, HasSubstr("src=\"figures/replay.png\""));
    expect_references_exist(run, html);
  }

  // With gnuplot back, the report draws the kept scripts.
  const std::string html = read_text(write_run_report(run, PlotRedraw::kAll));
  EXPECT_THAT(html, Not(HasSubstr("gnuplot was not found")));
  EXPECT_TRUE(fs::exists(run / "figures" / "training_curves.svg"));
  EXPECT_THAT(html, HasSubstr("src=\"figures/training_curves.svg\""));
  expect_references_exist(run, html);
}

TEST(Report, FailedRunShowsItsError) {
  TempDir dir;
  const fs::path run = dir / "run";
  write_fixture_run(run);
  write_text(
      run / "manifest.json",
      R"({"scenario": "fixture", "status": "failed", "error": "training diverged <at epoch 2>"})");
  const std::string html = read_text(write_run_report(run, PlotRedraw::kReportPlots));
  EXPECT_THAT(html, HasSubstr("The run failed: training diverged &lt;at epoch 2&gt;"));
}

TEST(Report, RunWithoutAnEndSaysSo) {
  TempDir dir;
  const fs::path run = dir / "run";
  write_fixture_run(run);
  write_text(run / "manifest.json", R"({"scenario": "fixture", "status": "running"})");
  const std::string html = read_text(write_run_report(run, PlotRedraw::kReportPlots));
  EXPECT_THAT(html, HasSubstr("status running"));
  EXPECT_THAT(html, HasSubstr("The run recorded no end: it is still running, or it stopped"));
}

TEST(Report, FiguresThatIsAFileIsNamed) {
  TempDir dir;
  const fs::path run = dir / "run";
  write_fixture_run(run);
  fs::remove_all(run / "figures");
  write_text(run / "figures", "not a folder");
  try {
    write_run_report(run, PlotRedraw::kAll);
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("figures' could not be made a folder for the report"));
    EXPECT_THAT(error.what(), HasSubstr("move whatever has that name away"));
  }
  EXPECT_EQ(read_text(run / "figures"), "not a folder");
}

TEST(Report, FolderThatIsNotARunIsRejected) {
  TempDir dir;
  try {
    write_run_report(dir.path(), PlotRedraw::kAll);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("has no manifest.json"));
    EXPECT_THAT(error.what(), HasSubstr("genmem run"));
  }
  EXPECT_THROW(write_run_report(dir / "missing", PlotRedraw::kAll), ConfigError);
  EXPECT_FALSE(fs::exists(dir / "report.html"));
}

TEST(Report, CorruptSummaryNamesTheFile) {
  TempDir dir;
  const fs::path run = dir / "run";
  write_fixture_run(run);
  write_text(run / "summary.json", "{\"replay\": ");
  try {
    write_run_report(run, PlotRedraw::kAll);
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("summary.json"));
    EXPECT_THAT(error.what(), HasSubstr("not valid JSON"));
  }
  EXPECT_FALSE(fs::exists(run / "report.html"));
}

TEST(Report, UnexpectedManifestFieldsStillReport) {
  TempDir dir;
  const fs::path run = dir / "run";
  write_fixture_run(run);
  write_text(
      run / "manifest.json",
      R"({"scenario": "fixture", "status": 3, "seed": "<b>7</b>", "wall_seconds": "237",
          "error": ["a"], "plugins": [1, 2]})");
  const std::string html = read_text(write_run_report(run, PlotRedraw::kReportPlots));
  EXPECT_THAT(html, HasSubstr("status 3"));
  EXPECT_THAT(html, HasSubstr("seed &lt;b&gt;7&lt;/b&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<b>7</b>")));
  EXPECT_THAT(html, HasSubstr("wall time ?"));

  write_text(run / "manifest.json", "[1, 2]");
  try {
    write_run_report(run, PlotRedraw::kReportPlots);
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("is not the JSON object genmem run writes"));
  }
}

TEST(Report, BrokenScriptLeavesOtherPlotsDrawn) {
  TempDir dir;
  const fs::path run = dir / "run";
  write_fixture_run(run);
  write_run_report(run, PlotRedraw::kAll);
  ASSERT_TRUE(fs::exists(run / "figures" / "latent_map.svg"));
  // gnuplot empties the SVG of a script that fails; the report then shows its PNG.
  write_text(run / "figures" / "aaa_broken.gp", "set output 'aaa_broken.svg'\nplot nonsense(\n");
  write_png(run / "figures" / "aaa_broken.png", 10, 10);
  fs::remove(run / "figures" / "latent_map.svg");

  const std::string html = read_text(write_run_report(run, PlotRedraw::kAll));
  EXPECT_TRUE(fs::exists(run / "figures" / "latent_map.svg"));
  EXPECT_THAT(html, HasSubstr("src=\"figures/aaa_broken.png\""));
  EXPECT_THAT(html, Not(HasSubstr("src=\"figures/aaa_broken.svg\"")));
  expect_references_exist(run, html);
}

TEST(Report, LatentMapSkipsLabelsThatAreNotClasses) {
  TempDir dir;
  const fs::path run = dir / "run";
  write_fixture_run(run);
  write_text(run / "latent_map.csv", "x,y,label\n0,0,0\n1,1,2.7\n2,2,1e30\n3,3,1\n");
  write_run_report(run, PlotRedraw::kReportPlots);
  // Two points remain, labelled 0 and 1, each with its own legend entry.
  const std::string data = read_text(run / "figures" / "latent_map.dat");
  EXPECT_EQ(std::count(data.begin(), data.end(), '\n'), 3);
  const std::string script = read_text(run / "figures" / "latent_map.gp");
  EXPECT_THAT(script, HasSubstr("title 'label 0'"));
  EXPECT_THAT(script, HasSubstr("title 'label 1'"));
  EXPECT_THAT(script, Not(HasSubstr("title 'label 2'")));
  EXPECT_THAT(script, Not(HasSubstr("-9223372036854775808")));
}

TEST(Report, ComparisonReportTabulatesMeansAndLinksRuns) {
  TempDir dir;
  const fs::path compare = dir / "cmp";
  write_fixture_run(compare / "plugin-a" / "seed-1");
  write_fixture_run(compare / "plugin-a" / "seed-2");
  fs::create_directories(compare / "plots");
  write_text(
      compare / "comparison.csv",
      "variant,seed,metric,value\n"
      "\"plugin=a, beta=2\",1,replay.distinct_memories,0.5\n"
      "\"plugin=a, beta=2\",2,replay.distinct_memories,0.7\n"
      "\"plugin=b\",1,replay.distinct_memories,4\n");
  write_text(
      compare / "comparison.json",
      R"({"scenario": "fixture", "metrics": ["replay.distinct_memories"], "runs": [
          {"variant": "plugin=a, beta=2", "seed": 1, "folder": "elsewhere/cmp/plugin-a/seed-1",
           "status": "completed", "error": ""},
          {"variant": "plugin=a, beta=2", "seed": 2, "folder": "elsewhere/cmp/plugin-a/seed-2",
           "status": "completed", "error": ""},
          {"variant": "plugin=b", "seed": 1, "folder": "elsewhere/cmp/plugin-b/seed-1",
           "status": "failed", "error": "diverged"}]})");
  write_text(compare / "comparison.md", "# Comparison\n");
  write_png(compare / "plots" / "replay.distinct_memories.png", 30, 20);

  ASSERT_TRUE(is_comparison_folder(compare));
  const std::string html = read_text(write_comparison_report(compare, PlotRedraw::kAll));
  EXPECT_THAT(html, HasSubstr("<h1>Comparison: fixture</h1>"));
  // Mean 0.6; the SEM is the sample standard deviation 0.1414 over sqrt(2), so 0.1.
  EXPECT_THAT(html, HasSubstr("<td class=\"number\">0.6 ± 0.1 (n=2)</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"number\">4 (n=1)</td>"));
  EXPECT_THAT(html, HasSubstr("href=\"plugin-a/seed-1/report.html\""));
  EXPECT_THAT(html, HasSubstr("<td>diverged</td>"));
  // Each run's own report is rebuilt too.
  EXPECT_TRUE(fs::exists(compare / "plugin-a" / "seed-2" / "report.html"));
  expect_references_exist(compare, html);
  EXPECT_FALSE(is_comparison_folder(compare / "plugin-a" / "seed-1"));

  // A record naming a folder outside the comparison is neither followed nor linked.
  write_fixture_run(dir / "victim");
  write_text(
      compare / "comparison.json",
      R"({"runs": [{"variant": "v", "seed": 1, "folder": "../../victim", "status": "completed"}]})");
  const std::string outside = read_text(write_comparison_report(compare, PlotRedraw::kAll));
  EXPECT_FALSE(fs::exists(dir / "victim" / "report.html"));
  EXPECT_THAT(outside, Not(HasSubstr("victim/report.html")));
}

}  // namespace
}  // namespace genmem
