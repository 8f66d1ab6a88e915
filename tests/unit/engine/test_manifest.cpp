// The provenance manifest: what it records, and what its check finds.
#include "capture/engine/manifest.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

namespace {

using test_support::temp_dir;

capture::manifest_request request() {
    capture::manifest_request r;
    r.tool = "cap-pull";
    r.command_line = {"cap-pull", "-e", "udp"};
    r.analyst = "grant";
    r.description = "case \xff 42";  // not UTF-8: written as U+FFFD
    r.expression = "udp";
    r.archives = {"/nsm/dl"};
    r.state = "done";
    return r;
}

std::string verdicts(const std::vector<capture::manifest_check_item>& items) {
    std::string text;
    for (const auto& i : items) text += i.role + " " + i.verdict + (i.why.empty() ? "" : " " + i.why) + "\n";
    return text;
}

}  // namespace

TEST_CASE("a manifest records the request, the sources and the output's digest") {
    temp_dir d;
    std::string a = d.file("a.pcap", "aaaa"), b = d.file("b.pcap", "bbbbbb"), out = d.file("out.pcap", "abc");
    auto m = capture::make_manifest(request(), out, {a, b, d.path + "/gone.pcap"}, false);
    CHECK(m["manifest"] == 1);
    CHECK(m["tool"] == "cap-pull");
    CHECK(m["request"]["expression"] == "udp");
    CHECK(m["command_line"].size() == 3);
    CHECK(m["sources"].size() == 3);
    CHECK(m["sources"][1]["size"] == 6);
    CHECK_FALSE(m["sources"][0].contains("sha256"));
    CHECK(m["sources"][2].contains("error"));
    CHECK(m["output"]["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(m["output"]["name"] == "out.pcap");
    auto hashed = capture::make_manifest(request(), out, {a}, true);
    CHECK(hashed["sources"][0]["sha256"] == "61be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b4");
    std::string path = capture::write_manifest(m, out, 0644);
    CHECK(path == out + ".manifest.json");
    CHECK(test_support::slurp(path).find("case \xef\xbf\xbd 42") != std::string::npos);
}

TEST_CASE("the check finds a changed output and changed sources, and says a gone one") {
    temp_dir d;
    std::string a = d.file("a.pcap", "aaaa"), b = d.file("b.pcap", "bbbbbb"), out = d.file("out.pcap", "abc");
    std::string path = capture::write_manifest(capture::make_manifest(request(), out, {a, b}, false), out, 0644);
    CHECK(verdicts(capture::check_manifest(path)) == "output OK\nsource OK\nsource OK\n");
    d.file("b.pcap", "bbbbbbb");
    ::unlink(a.c_str());
    d.file("out.pcap", "abd");
    auto items = capture::check_manifest(path);
    REQUIRE(items.size() == 3);
    CHECK(items[0].verdict == "FAILED");
    CHECK(items[0].why == "sha256 differs");
    CHECK(items[1].verdict == "gone");
    CHECK(items[2].verdict == "FAILED");
    CHECK(items[2].why.find("size 7, not 6") == 0);
}

TEST_CASE("a file that is not a manifest is refused with its name") {
    temp_dir d;
    std::string p = d.file("x.manifest.json", "{\"output\": {}}");
    CHECK_THROWS_WITH(capture::check_manifest(p), Catch::Contains("x.manifest.json: not a capture manifest"));
    p = d.file("y.manifest.json", "{not json");
    CHECK_THROWS_WITH(capture::check_manifest(p), Catch::Contains("y.manifest.json: not JSON"));
    p = d.file("z.manifest.json", "{\"manifest\": 9, \"output\": {}}");
    CHECK_THROWS_WITH(capture::check_manifest(p), Catch::Contains("newer than this tool's"));
    CHECK(capture::is_manifest_path("a.pcap.manifest.json"));
    CHECK_FALSE(capture::is_manifest_path(".manifest.json"));
    CHECK_FALSE(capture::is_manifest_path("a.json"));
}

TEST_CASE("the output's digest made while it was written is taken, when it can be") {
    temp_dir d;
    std::string out = d.file("out.pcap", "abc");
    const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    // Taken as given when the file is as long as the tap saw: it is not read
    // (a digest that is not the file's shows it).
    capture::known_digest known{std::string(64, 'f'), 3};
    CHECK(capture::make_manifest(request(), out, {}, false, &known)["output"]["sha256"] == known.sha256);
    // A file of another length than the tap saw is read.
    known.bytes = 4;
    CHECK(capture::make_manifest(request(), out, {}, false, &known)["output"]["sha256"] == abc);
    capture::known_digest empty;
    CHECK(capture::make_manifest(request(), out, {}, false, &empty)["output"]["sha256"] == abc);
}

TEST_CASE("known_digest_of: the writer's tap, when it saw the whole file") {
    temp_dir d;
    const std::string path = d.path + "/w.pcap";
    capture::digest_tap tap;
    capture::writer_options small;
    small.buffer_size = 65536;
    capture::capture_writer w = capture::capture_writer::to_file(path, small);
    w.tap(&tap);
    std::uint32_t i = w.add_interface(1, 100);
    const std::vector<std::uint8_t> data(200, 7);
    w.write(capture::timestamp{1, 0}, data.data(), 50, 50, i);
    SECTION("seen whole") {
        w.commit();
        auto k = capture::known_digest_of(w, tap);
        REQUIRE(k);
        CHECK(k->bytes == w.bytes());
        CHECK(capture::make_manifest(request(), path, {}, false, &*k)["output"]["sha256"] ==
              capture::hex_digest(test_support::slurp(path), capture::digest_algorithm("sha256").md()));
    }
    SECTION("its header patched after: nothing known, the manifest reads the file") {
        for (std::int64_t n = 0; n < 2000; ++n) w.write(capture::timestamp{2 + n, 0}, data.data(), 50, 50, i);
        w.write(capture::timestamp{3000, 0}, data.data(), 200, 200, i);  // beyond the snaplen: the header, gone, is raised
        w.commit();
        CHECK_FALSE(capture::known_digest_of(w, tap));
    }
    SECTION("another digest than the manifest's") {
        capture::digest_tap md5("md5");
        capture::capture_writer v = capture::capture_writer::to_file(d.path + "/v.pcap");
        v.tap(&md5);
        v.add_interface(1, 100);
        v.commit();
        CHECK_FALSE(capture::known_digest_of(v, md5));
    }
}

TEST_CASE("a fleet pull's manifest names each sensor, in order, and no local source") {
    temp_dir d;
    std::string out = d.file("out.pcap", "abc");
    auto r = request();
    r.archives.clear();
    r.sensors = {{"s1", "done", "", "2023-11-14T22:13:20Z", "2023-11-14T22:14:00Z", 10, 2000},
                 {"s2", "failed", "ssh: exit status 255", "", "", 0, 0}};
    auto m = capture::make_manifest(r, out, {}, false);
    REQUIRE(m["sensors"].size() == 2);
    CHECK(m["sensors"][0]["name"] == "s1");
    CHECK(m["sensors"][0]["packets"] == 10);
    CHECK(m["sensors"][0]["received"] == 2000);
    CHECK(m["sensors"][0]["first"] == "2023-11-14T22:13:20Z");
    CHECK_FALSE(m["sensors"][0].contains("reason"));
    CHECK(m["sensors"][1]["state"] == "failed");
    CHECK(m["sensors"][1]["reason"] == "ssh: exit status 255");
    CHECK_FALSE(m["sensors"][1].contains("first"));
    CHECK(m["sources"].empty());
    CHECK_FALSE(m["request"].contains("archives"));
    // A local pull's has none.
    CHECK_FALSE(capture::make_manifest(request(), out, {}, false).contains("sensors"));
}

TEST_CASE("a pull from alerts' manifest lists its alerts, in order, with what each had") {
    temp_dir d;
    std::string out = d.file("out.pcap", "abc");
    auto r = request();
    r.alerts = {{"1234567890123456", "ET TEST syn seen", "", "tcp and (host 10.0.0.1)", "2023-11-14T22:13:20Z",
                 "2023-11-14T22:13:22Z"},
                {"", "", "CAbc12", "udp", "2023-11-14T22:14:00Z", "2023-11-14T22:15:00Z"}};
    auto m = capture::make_manifest(r, out, {}, false);
    const auto& alerts = m["request"]["alerts"];
    REQUIRE(alerts.size() == 2);
    CHECK(alerts[0]["alert_id"] == "1234567890123456");
    CHECK(alerts[0]["signature"] == "ET TEST syn seen");
    CHECK_FALSE(alerts[0].contains("uid"));
    CHECK(alerts[0]["expression"] == "tcp and (host 10.0.0.1)");
    CHECK(alerts[0]["until"] == "2023-11-14T22:13:22Z");
    CHECK(alerts[1]["uid"] == "CAbc12");
    CHECK_FALSE(alerts[1].contains("alert_id"));
    CHECK(alerts[1]["since"] == "2023-11-14T22:14:00Z");
    // After the request's own keys: a reader of version 1 sees them first.
    CHECK(m["request"].begin().key() == "analyst");
    // A pull of one expression has none.
    CHECK_FALSE(capture::make_manifest(request(), out, {}, false)["request"].contains("alerts"));
}
