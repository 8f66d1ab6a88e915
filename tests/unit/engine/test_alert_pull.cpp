// Alerts into jobs and groups: windows from times, durations and margins,
// VLAN-safe expressions, and which alerts are read together.
#include "capture/engine/alert_pull.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using capture::alert_job;
using capture::flow_alert;

namespace {

flow_alert tuple_alert(const std::string& src, const std::string& time, double duration = 0) {
    flow_alert a;
    a.src = src;
    a.dst = "192.0.2.1";
    a.proto = "tcp";
    a.sport = 1000;
    a.dport = 80;
    a.time = time;
    a.duration = duration;
    return a;
}

}  // namespace

TEST_CASE("margins: one for both sides, or before,after") {
    auto m = capture::parse_alert_margin("5m", "--margin");
    CHECK(m.before == 300);
    CHECK(m.after == 300);
    m = capture::parse_alert_margin("10m,30s", "--margin");
    CHECK(m.before == 600);
    CHECK(m.after == 30);
    CHECK(capture::parse_alert_margin("0", "--margin").after == 0);
    CHECK_THROWS_AS(capture::parse_alert_margin("soon", "--margin"), capture::usage_error);
    CHECK_THROWS_AS(capture::parse_alert_margin("2y", "--margin"), capture::usage_error);
}

TEST_CASE("an alert's window: its time and duration, widened by the margin") {
    alert_job j = capture::make_alert_job(tuple_alert("10.0.0.1", "@1700000000.25", 2.5), {60, 30}, true, 0);
    CHECK(j.window.since.sec == 1700000000 - 60);
    CHECK(j.window.since.nsec == 250000000);
    CHECK(j.window.until.sec == 1700000002 + 30);
    CHECK(j.window.until.nsec == 750000000);
    CHECK(j.compiled == capture::vlan_expression(j.expression));
    CHECK(j.description == "alert line 0");

    // A flow start before the alert's time, and an end after it, widen it.
    flow_alert a = tuple_alert("10.0.0.1", "2023-11-14T22:13:22+0000");
    a.start_time = "2023-11-14T22:13:20+0000";
    a.end_time = "2023-11-14T22:13:40Z";
    a.signature = "sig";
    j = capture::make_alert_job(a, {0, 0}, false, 0);
    CHECK(j.window.since.sec == 1700000000);
    CHECK(j.window.until.sec == 1700000020);
    CHECK(j.window.until.nsec == 1);  // the last instant itself is inside
    CHECK(j.compiled == j.expression);
    CHECK(j.description == "sig");

    // since/until of a record: as they are, no margin.
    flow_alert r;
    r.expression = "host 10.0.0.1";
    r.since = "@1700000000";
    r.until = "@1700000010";
    j = capture::make_alert_job(r, {300, 300}, true, 0);
    CHECK(j.window.since.sec == 1700000000);
    CHECK(j.window.until.sec == 1700000010);

    flow_alert bad = tuple_alert("10.0.0.1", "yesterday-ish");
    CHECK_THROWS_AS(capture::make_alert_job(bad, {0, 0}, true, 0), capture::usage_error);
}

TEST_CASE("groups: overlapping windows and shared files go together, the rest apart") {
    capture::archive_scan scan;  // files of 100 s each from 1000
    for (int i = 0; i < 10; ++i) {
        capture::archive_file f;
        f.path = "f" + std::to_string(i);
        f.start = 1000 + 100 * i;
        f.end = f.start + 100;
        f.mtime = f.end;
        f.order = static_cast<std::size_t>(i);
        scan.files.push_back(f);
    }
    std::vector<alert_job> jobs;
    auto add = [&](const std::string& src, std::int64_t t) {
        jobs.push_back(capture::make_alert_job(tuple_alert(src, "@" + std::to_string(t)), {5, 5}, true, 0));
    };
    add("10.0.0.1", 1010);  // file 0
    add("10.0.0.2", 1050);  // file 0: shares it with the first
    add("10.0.0.3", 1500);  // file 5
    add("10.0.0.4", 1012);  // overlaps the first's window
    add("10.0.0.1", 1011);  // the same flow again: one term of the OR
    auto groups = capture::group_alert_jobs(jobs, scan, true);
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].jobs == std::vector<std::size_t>{0, 4, 3, 1});
    CHECK(groups[1].jobs == std::vector<std::size_t>{2});
    CHECK(groups[0].window.since.sec == 1005);
    CHECK(groups[0].window.until.sec == 1055);
    CHECK(groups[1].expression == capture::vlan_expression(jobs[2].expression));
    const std::string& e = groups[0].expression;
    CHECK(e.rfind("((" + jobs[0].expression + ") or (", 0) == 0);
    // Three distinct flows, each once, and the OR made VLAN-safe whole.
    std::size_t n = 0;
    for (std::size_t at = 0; (at = e.find("src port 1000 and dst host 192.0.2.1", at)) != std::string::npos; ++at) ++n;
    CHECK(n == 6);
    CHECK(e.find(") or (vlan and (") != std::string::npos);

    // An expression that shifts offsets cannot be OR-ed: the group reads all.
    flow_alert v;
    v.expression = "vlan 100 and host 10.0.0.9";
    v.time = "@1500";
    jobs.push_back(capture::make_alert_job(v, {5, 5}, true, 0));
    groups = capture::group_alert_jobs(jobs, scan, true);
    REQUIRE(groups.size() == 2);
    CHECK(groups[1].expression.empty());
    CHECK(groups[1].jobs.size() == 2);
}
