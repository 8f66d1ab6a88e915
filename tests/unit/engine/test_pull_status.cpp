// A pull's end as its record, audit line and exit status say it, and its
// progress figures in bytes.
#include "capture/engine/pull_status.hpp"

#include <catch2/catch.hpp>

using capture::pull_outcome_of;

TEST_CASE("a pull whose every source failed is failed and not published") {
    auto none = pull_outcome_of(false, false, false, 1, 0, 0, 0);  // the archive missing
    CHECK(none.state == "failed");
    CHECK(none.audit == "failed");
    CHECK_FALSE(none.publish);
    CHECK(none.nothing_read);
    CHECK(none.exit_code == 1);
    auto broken = pull_outcome_of(false, false, false, 2, 2, 2, 0);  // both files junk
    CHECK(broken.nothing_read);
    CHECK_FALSE(broken.publish);
}

TEST_CASE("a partial pull says partial everywhere, and is published") {
    auto o = pull_outcome_of(false, false, false, 1, 4, 1, 120);
    CHECK(o.state == "partial");
    CHECK(o.audit == "partial");
    CHECK(o.publish);
    CHECK(o.exit_code == 1);
    // A broken file's packets before the break are something read.
    CHECK(pull_outcome_of(false, false, false, 1, 1, 1, 5).state == "partial");
}

TEST_CASE("done, empty windows, interruptions and write failures") {
    auto done = pull_outcome_of(false, false, false, 0, 3, 0, 10);
    CHECK(done.state == "done");
    CHECK(done.audit == "ok");
    CHECK(done.exit_code == 0);
    auto empty = pull_outcome_of(false, false, false, 0, 0, 0, 0);  // nothing in the window: a valid empty capture
    CHECK(empty.state == "done");
    CHECK(empty.publish);
    CHECK(pull_outcome_of(false, false, true, 0, 3, 0, 10).state == "interrupted");
    auto full = pull_outcome_of(true, true, false, 0, 3, 0, 10);
    CHECK(full.state == "failed");
    CHECK(full.publish);
    CHECK_FALSE(pull_outcome_of(true, false, false, 0, 3, 0, 10).publish);
}

TEST_CASE("progress figures in bytes: percent, rate and ETA") {
    auto f = capture::pull_figures_of(250, 1000, 5);
    CHECK(f.percent == 25);
    CHECK(f.rate == Approx(50));
    CHECK(f.eta == Approx(15));
    auto start = capture::pull_figures_of(0, 1000, 0);
    CHECK(start.eta < 0);
    CHECK(start.rate == 0);
    auto over = capture::pull_figures_of(1500, 1000, 5);  // a file read twice
    CHECK(over.read == 1000);
    CHECK(over.percent == 100);
    CHECK(over.eta == Approx(0));
    CHECK(capture::pull_figures_of(0, 0, 1).percent == 100);
}

TEST_CASE("times left, short enough for a column") {
    CHECK(capture::format_eta(-1) == "-");
    CHECK(capture::format_eta(0) == "0s");
    CHECK(capture::format_eta(44.6) == "45s");
    CHECK(capture::format_eta(185) == "3m05s");
    CHECK(capture::format_eta(7380) == "2h03m");
    CHECK(capture::format_eta(180000) == "2d02h");
}
