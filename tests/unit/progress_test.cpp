#include "progress.hpp"

#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace genmem {
namespace {

// A string stream and a clock that only moves when the test sets `time`.
class FakeTerminal {
 public:
  ProgressOutput output(ProgressStyle style, double interval_seconds = 0.0, int columns = 0) {
    ProgressOutput output;
    output.stream = &stream_;
    output.style = style;
    output.interval_seconds = interval_seconds;
    output.columns = columns;
    output.clock = [this] {
      return time;
    };
    return output;
  }

  // Returns what was written since the last call.
  std::string take() {
    std::string text = stream_.str();
    stream_.str("");
    return text;
  }

  double time = 0.0;

 private:
  std::ostringstream stream_;
};

// Turns progress output off for the life of the object, and back on afterwards.
class QuietProgress {
 public:
  QuietProgress() { set_progress_enabled(false); }

  ~QuietProgress() { set_progress_enabled(true); }

  QuietProgress(const QuietProgress&) = delete;
  QuietProgress& operator=(const QuietProgress&) = delete;
};

// The terminal line of a new 10,000-cue replay bar.
const std::string kEmptyReplayBar = "replay  [--------------------]   0%  0/10,000 cues";

// Returns what erasing a terminal line of `width` characters writes: `\r`, spaces, `\r`.
std::string erase_sequence(std::size_t width) {
  std::string text(width + 2, ' ');
  text.front() = '\r';
  text.back() = '\r';
  return text;
}

TEST(ProgressFormat, CountsGroupThousands) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_count(10000), "10,000");
  EXPECT_EQ(format_count(1234567), "1,234,567");
  EXPECT_EQ(format_count(-1234), "-1,234");
}

TEST(ProgressFormat, DurationsRoundToSeconds) {
  EXPECT_EQ(format_duration(0.0), "0:00");
  EXPECT_EQ(format_duration(11.4), "0:11");
  EXPECT_EQ(format_duration(59.6), "1:00");
  EXPECT_EQ(format_duration(3599.0), "59:59");
  EXPECT_EQ(format_duration(3600.0), "1:00:00");
  EXPECT_EQ(format_duration(3725.0), "1:02:05");
  EXPECT_EQ(format_duration(-3.0), "0:00");
}

TEST(ProgressBar, TerminalDrawsEmptyBarAtCreation) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kTerminal));

  EXPECT_EQ(terminal.take(), "\r" + kEmptyReplayBar);
}

TEST(ProgressBar, TerminalLineShowsRateAndTimeLeft) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kTerminal));
  terminal.take();

  // 4,100 cues in 4100 / 520 s is 520 cues/s, and 5,900 cues at that rate take 11.3 s.
  terminal.time = 4100.0 / 520.0;
  bar.update(4100);
  EXPECT_EQ(
      terminal.take(),
      "\rreplay  [########------------]  41%  4,100/10,000 cues  520 cues/s  0:11 left");

  // 9,000 cues in 18 s is 500 cues/s, and 1,000 cues take 2 s more.
  terminal.time = 18.0;
  bar.update(9000);
  EXPECT_EQ(
      terminal.take(),
      "\rreplay  [##################--]  90%  9,000/10,000 cues  500 cues/s  0:02 left");
}

TEST(ProgressBar, TerminalRateBelowTenHasOneDecimal) {
  FakeTerminal terminal;
  ProgressBar bar("epoch 3/50", 100, "images", terminal.output(ProgressStyle::kTerminal));
  terminal.take();

  // 10 images in 4 s is 2.5 images/s, and 90 images take 36 s more.
  terminal.time = 4.0;
  bar.update(10);
  EXPECT_EQ(
      terminal.take(),
      "\repoch 3/50  [##------------------]  10%  10/100 images  2.5 images/s  0:36 left");
}

TEST(ProgressBar, TerminalOmitsRateBeforeFirstUnit) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kTerminal));
  terminal.take();

  terminal.time = 5.0;
  bar.update(0);

  EXPECT_EQ(terminal.take(), "\r" + kEmptyReplayBar);
}

TEST(ProgressBar, TerminalRedrawsAtMostEveryTenthSecond) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kTerminal));
  terminal.take();

  terminal.time = 0.05;
  bar.update(100);
  EXPECT_EQ(terminal.take(), "");

  // 200 cues in 0.1 s is 2,000 cues/s, and 9,800 cues take 4.9 s more.
  terminal.time = 0.1;
  bar.update(200);
  EXPECT_EQ(
      terminal.take(),
      "\rreplay  [--------------------]   2%  200/10,000 cues  2,000 cues/s  0:05 left");

  terminal.time = 0.19;
  bar.update(300);
  EXPECT_EQ(terminal.take(), "");
}

TEST(ProgressBar, TerminalRedrawsWhenTotalReached) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kTerminal));
  terminal.take();

  // Within 0.1 s of the last redraw, but the bar is now complete.
  terminal.time = 0.05;
  bar.update(10000);

  EXPECT_EQ(
      terminal.take(),
      "\rreplay  [####################] 100%  10,000/10,000 cues  200,000 cues/s  0:00 left");
}

TEST(ProgressBar, TerminalPadsShorterLine) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 100000, "cues", terminal.output(ProgressStyle::kTerminal));
  terminal.take();

  // 1,000 cues/s, then 999 cues/s: the second line is two characters shorter.
  terminal.time = 1.0;
  bar.update(1000);
  const std::string first = terminal.take();
  terminal.time = 2.0;
  bar.update(1998);
  const std::string second = terminal.take();

  EXPECT_EQ(
      first, "\rreplay  [--------------------]   1%  1,000/100,000 cues  1,000 cues/s  1:39 left");
  EXPECT_EQ(
      second, "\rreplay  [--------------------]   1%  1,998/100,000 cues  999 cues/s  1:38 left  ");
}

TEST(ProgressBar, TerminalShortensBarToColumns) {
  FakeTerminal terminal;
  // The 50-character line must fit in 44 columns, because one column stays free so that the line
  // never wraps.
  ProgressBar bar(
      "replay", 10000, "cues", terminal.output(ProgressStyle::kTerminal, 0.0, /*columns=*/45));

  EXPECT_EQ(terminal.take(), "\rreplay  [--------------]   0%  0/10,000 cues");
}

TEST(ProgressBar, TerminalCutsLineBelowShortestBar) {
  FakeTerminal terminal;
  ProgressBar bar(
      "replay", 10000, "cues", terminal.output(ProgressStyle::kTerminal, 0.0, /*columns=*/30));

  // A bar of 10 characters gives a 40-character line, which is cut at 29.
  EXPECT_EQ(terminal.take(), "\rreplay  [----------]   0%  0/");
}

TEST(ProgressBar, TerminalFinishErasesLine) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kTerminal));
  terminal.take();

  terminal.time = 1.0;
  bar.finish();
  EXPECT_EQ(terminal.take(), erase_sequence(kEmptyReplayBar.size()));

  // A finished bar ignores later calls, the destructor's included.
  bar.update(5000);
  bar.clear();
  bar.finish();
  EXPECT_EQ(terminal.take(), "");
}

TEST(ProgressBar, TerminalDestructorErasesLine) {
  FakeTerminal terminal;
  {
    ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kTerminal));
    terminal.take();
  }

  EXPECT_EQ(terminal.take(), erase_sequence(kEmptyReplayBar.size()));
}

TEST(ProgressBar, TerminalClearForcesNextRedraw) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kTerminal));
  terminal.take();

  bar.clear();
  EXPECT_EQ(terminal.take(), erase_sequence(kEmptyReplayBar.size()));

  // Within 0.1 s of the last redraw, but the line is empty. 50 cues in 0.01 s is 5,000 cues/s.
  terminal.time = 0.01;
  bar.update(50);
  EXPECT_EQ(
      terminal.take(),
      "\rreplay  [--------------------]   0%  50/10,000 cues  5,000 cues/s  0:02 left");

  // Clearing twice erases once.
  bar.clear();
  terminal.take();
  bar.clear();
  EXPECT_EQ(terminal.take(), "");
}

TEST(ProgressBar, PlainPrintsEveryInterval) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kPlain, 10.0));
  EXPECT_EQ(terminal.take(), "");

  terminal.time = 3.0;
  bar.update(300);
  EXPECT_EQ(terminal.take(), "");

  // 1,000 cues in 10 s is 100 cues/s, and 9,000 cues take 90 s more.
  terminal.time = 10.0;
  bar.update(1000);
  EXPECT_EQ(terminal.take(), "replay: 1,000/10,000 cues (10%), 100 cues/s, 1:30 left\n");

  terminal.time = 15.0;
  bar.update(1500);
  EXPECT_EQ(terminal.take(), "");

  terminal.time = 20.0;
  bar.update(2000);
  EXPECT_EQ(terminal.take(), "replay: 2,000/10,000 cues (20%), 100 cues/s, 1:20 left\n");
}

TEST(ProgressBar, PlainIntervalZeroPrintsEveryUpdate) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kPlain, 0.0));

  // 4,100 cues in 4100 / 520 s is 520 cues/s, and 5,900 cues take 11.3 s more.
  terminal.time = 4100.0 / 520.0;
  bar.update(4100);
  bar.update(4100);

  EXPECT_EQ(
      terminal.take(),
      "replay: 4,100/10,000 cues (41%), 520 cues/s, 0:11 left\n"
      "replay: 4,100/10,000 cues (41%), 520 cues/s, 0:11 left\n");
}

TEST(ProgressBar, PlainFinalLineGivesTotalTime) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kPlain, 0.0));

  terminal.time = 8.0;
  bar.update(4000);
  EXPECT_EQ(terminal.take(), "replay: 4,000/10,000 cues (40%), 500 cues/s, 0:12 left\n");

  // 10,000 cues in 20 s is 500 cues/s.
  terminal.time = 20.0;
  bar.update(10000);
  terminal.take();
  bar.finish();
  EXPECT_EQ(terminal.take(), "replay: 10,000/10,000 cues (100%) in 0:20, 500 cues/s\n");

  bar.finish();
  EXPECT_EQ(terminal.take(), "");
}

TEST(ProgressBar, PlainSkipsFinalLineWithoutProgressLine) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kPlain, 10.0));

  terminal.time = 5.0;
  bar.update(10000);
  bar.finish();

  EXPECT_EQ(terminal.take(), "");
}

TEST(ProgressBar, PlainFinalLineOfUnfinishedOperation) {
  FakeTerminal terminal;
  {
    ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kPlain, 10.0));
    terminal.time = 10.0;
    bar.update(1000);
    terminal.take();
    // The operation fails at 3,000 cues, and the destructor finishes the bar.
    terminal.time = 15.0;
    bar.update(3000);
  }

  EXPECT_EQ(terminal.take(), "replay: 3,000/10,000 cues (30%) in 0:15, 200 cues/s\n");
}

TEST(ProgressBar, PlainIgnoresClear) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 10000, "cues", terminal.output(ProgressStyle::kPlain, 0.0));

  bar.clear();

  EXPECT_EQ(terminal.take(), "");
}

TEST(ProgressBar, AdvanceAddsToDone) {
  FakeTerminal terminal;
  ProgressBar bar("capacity", 21, "recalls", terminal.output(ProgressStyle::kPlain, 0.0));

  // 6 recalls in 2 s is 3 recalls/s, and 15 recalls take 5 s more.
  terminal.time = 2.0;
  bar.advance(3);
  terminal.take();
  bar.advance(3);

  EXPECT_EQ(terminal.take(), "capacity: 6/21 recalls (28%), 3.0 recalls/s, 0:05 left\n");
}

TEST(ProgressBar, QuietPrintsNothing) {
  const QuietProgress quiet;
  EXPECT_FALSE(progress_enabled());
  FakeTerminal terminal;
  {
    ProgressBar terminal_bar("replay", 100, "cues", terminal.output(ProgressStyle::kTerminal));
    ProgressBar plain_bar("replay", 100, "cues", terminal.output(ProgressStyle::kPlain, 0.0));
    terminal.time = 1.0;
    terminal_bar.update(50);
    plain_bar.update(50);
    terminal_bar.clear();
    terminal.time = 2.0;
    terminal_bar.update(100);
    plain_bar.update(100);
    terminal_bar.finish();
    plain_bar.finish();
  }

  EXPECT_EQ(terminal.take(), "");
}

TEST(ProgressBar, ZeroTotalCountsAsComplete) {
  FakeTerminal terminal;
  ProgressBar terminal_bar("capacity", 0, "recalls", terminal.output(ProgressStyle::kTerminal));
  EXPECT_EQ(terminal.take(), "\rcapacity  [####################] 100%  0/0 recalls");

  ProgressBar plain_bar("capacity", 0, "recalls", terminal.output(ProgressStyle::kPlain, 0.0));
  terminal.time = 1.0;
  plain_bar.update(0);
  EXPECT_EQ(terminal.take(), "capacity: 0/0 recalls (100%)\n");
  plain_bar.finish();
  EXPECT_EQ(terminal.take(), "capacity: 0/0 recalls (100%) in 0:01\n");
}

TEST(ProgressBar, PercentIsExactForEveryCount) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 100, "cues", terminal.output(ProgressStyle::kPlain, 0.0));

  // 0.29 * 100 is 28.999... in floating point.
  terminal.time = 1.0;
  bar.update(29);
  EXPECT_EQ(terminal.take(), "replay: 29/100 cues (29%), 29 cues/s, 0:02 left\n");
  bar.update(57);
  EXPECT_EQ(terminal.take(), "replay: 57/100 cues (57%), 57 cues/s, 0:01 left\n");
}

TEST(ProgressBar, DoneBeyondTotalFillsBar) {
  FakeTerminal terminal;
  ProgressBar bar("replay", 100, "cues", terminal.output(ProgressStyle::kPlain, 0.0));

  terminal.time = 1.0;
  bar.update(150);

  EXPECT_EQ(terminal.take(), "replay: 150/100 cues (100%), 150 cues/s, 0:00 left\n");
}

}  // namespace
}  // namespace genmem
