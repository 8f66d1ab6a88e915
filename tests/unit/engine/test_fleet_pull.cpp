// fleet_pull.hpp: the remote command quoted for the remote shell; the
// ssh command line; and the merge of streams from children (a stand-in
// for ssh that cats each sensor's capture, in pieces and slowly), byte
// for byte merge_captures' of the same files, ties to the sensor named
// first; a sensor whose stream breaks, one that fails at once, one that is
// silent past the timeout: each failed with its reason, the others merged;
// a pcapng stream of two link types beside a pcap one; why a sensor ended,
// past the usage hint.
#include "capture/engine/fleet_pull.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace capture;

namespace {

using test_support::temp_dir;

using test_support::slurp;

// A capture of n packets from second start, every step microseconds, tagged.
std::string make_input(const temp_dir& dir, const std::string& name, int n, std::int64_t start, std::uint32_t step) {
    const std::string path = dir.path + "/" + name + ".pcap";
    capture_writer w = capture_writer::to_file(path);
    w.add_interface(1, 65535);
    for (int i = 0; i < n; ++i) {
        std::uint8_t data[60] = {};
        data[0] = static_cast<std::uint8_t>(name.back());
        std::memcpy(data + 1, &i, 4);
        const std::uint64_t us = std::uint64_t{step} * static_cast<std::uint64_t>(i);
        w.write(timestamp{start + static_cast<std::int64_t>(us / 1000000), static_cast<std::uint32_t>(us % 1000000 * 1000)},
                data, 20 + static_cast<std::uint32_t>(i % 40), 60);
    }
    w.commit();
    return path;
}

// sh -c SCRIPT stands in for ssh: $4 is the sensor, $5 the remote command.
fleet_settings fake_ssh(const std::string& script) {
    fleet_settings s;
    s.ssh_command = {"sh", "-c", script, "fake-ssh"};
    s.timeout = std::chrono::seconds(20);
    return s;
}

}  // namespace

TEST_CASE("fleet_pull: the remote command is quoted for the remote shell") {
    CHECK(shell_quote("it's $(x) `y` \\ \"z\"") == "'it'\\''s $(x) `y` \\ \"z\"'");
    fleet_settings s;
    s.ssh_command = split_words("ssh  -F /etc/x\t-q");
    s.sensor_command = "CAPTURE_CONF=/c cap-pull";
    CHECK(sensor_argv(s, "s1", {"-e", "host 1.2.3.4 and port 53", "-d", "a'b"}) ==
          std::vector<std::string>{"ssh", "-F", "/etc/x", "-q", "-o", "BatchMode=yes", "--", "s1",
                                   "CAPTURE_CONF=/c cap-pull '-e' 'host 1.2.3.4 and port 53' '-d' 'a'\\''b'"});
    CHECK_THROWS_AS(check_sensor_name("-oProxyCommand=x"), usage_error);
    CHECK_THROWS_AS(check_sensor_name("a b"), usage_error);
    CHECK_THROWS_AS(check_sensor_name("a'b"), usage_error);
    CHECK_NOTHROW(check_sensor_name("root@sensor-3.example.org"));
}

TEST_CASE("fleet_pull: streams merged as they arrive are merge_captures' bytes") {
    temp_dir dir;
    // Overlapping, with ties between a and c (same start, same step).
    std::vector<std::string> files{make_input(dir, "a", 3000, 1700000000, 997),
                                   make_input(dir, "b", 2000, 1700000001, 1500),
                                   make_input(dir, "c", 3000, 1700000000, 997)};
    merge_plan plan = plan_merge(files);
    const std::string ref = dir.path + "/ref.pcap";
    {
        capture_writer w = capture_writer::to_file(ref);
        merge_captures(plan, w);
        w.commit();
    }
    // b trickles (dd in small blocks), the others come at once.
    fleet_pull fleet({"a", "b", "c"}, {"-w", "-"},
                     fake_ssh("if [ \"$4\" = b ]; then dd if=" + dir.path + "/b.pcap bs=1000 status=none; else cat " +
                              dir.path + "/\"$4\".pcap; fi"));
    std::atomic<bool> stop{false};
    REQUIRE(fleet.wait_headers(stop));
    REQUIRE(fleet.ready().size() == 3);
    const std::string out_path = dir.path + "/out.pcap";
    capture_writer out = capture_writer::to_file(out_path);
    REQUIRE(fleet.merge(out, [&](const fleet_sensor& s, const interface_info& i) { return out.add_named_interface(i.linktype, i.snaplen, s.name); },
                        stop));
    fleet.finish(false);
    out.commit();
    CHECK(slurp(out_path) == slurp(ref));
    for (const auto* s : fleet.sensors()) {
        CHECK(s->state == "done");
        CHECK(s->reason.empty());
    }
    CHECK(fleet.sensors()[1]->packets == 2000);
}

TEST_CASE("fleet_pull: a broken stream, a refusal and a silent sensor fail alone") {
    temp_dir dir;
    make_input(dir, "a", 500, 1700000000, 1000);
    const std::string b = make_input(dir, "b", 500, 1700000000, 1000);
    const std::string whole = slurp(b);
    dir.file("b.pcap", whole.substr(0, whole.size() - 10));  // cut inside its last record
    fleet_settings fs = fake_ssh(
        "case $4 in a|b) cat " + dir.path + "/$4.pcap ;; "
        "refused) echo 'Host key verification failed.' >&2; exit 255 ;; "
        "silent) exec sleep 30 ;; esac");
    fs.timeout = std::chrono::milliseconds(1000);
    fleet_pull fleet({"a", "b", "refused", "silent"}, {}, fs);
    std::atomic<bool> stop{false};
    REQUIRE(fleet.wait_headers(stop));
    const std::string out_path = dir.path + "/out.pcap";
    capture_writer out = capture_writer::to_file(out_path);
    REQUIRE(fleet.merge(out, [&](const fleet_sensor&, const interface_info& i) { return out.add_interface(i.linktype, i.snaplen); }, stop));
    fleet.finish(false);
    out.commit();
    auto s = fleet.sensors();
    CHECK(s[0]->state == "done");
    CHECK(s[0]->packets == 500);
    CHECK(s[1]->state == "failed");
    CHECK(s[1]->packets == 499);  // what came whole is kept
    CHECK_THAT(s[1]->reason, Catch::Contains("ended inside a packet record"));
    CHECK(s[2]->state == "failed");
    CHECK_THAT(s[2]->reason, Catch::Contains("exit status 255: Host key verification failed."));
    CHECK(s[3]->state == "failed");
    CHECK_THAT(s[3]->reason, Catch::Contains("no data for 1 s"));
    capture_reader r(out_path);
    packet_view p;
    std::size_t n = 0;
    while (r.next(p)) ++n;
    CHECK(n == 999);
}

TEST_CASE("fleet_pull: ask_sensors collects every answer, and why one failed") {
    auto answers = ask_sensors({"x", "y"}, {"-n"},
                               fake_ssh("if [ $4 = x ]; then echo \"$5\"; else echo nope >&2; exit 7; fi"));
    REQUIRE(answers.size() == 2);
    CHECK(answers[0].out == "cap-pull '-n'\n");
    CHECK(answers[0].reason.empty());
    CHECK(answers[1].reason == "ssh: exit status 7: nope");
}

TEST_CASE("fleet_pull: why a sensor ended is its last words, not the usage hint after them") {
    CHECK(last_words({"cap-pull: the files of the window have several link types: use -F pcapng",
                      "Try 'cap-pull --help' for more information."}) ==
          "cap-pull: the files of the window have several link types: use -F pcapng");
    CHECK(last_words({"Host key verification failed."}) == "Host key verification failed.");
    CHECK(last_words({}).empty());
    auto answers = ask_sensors({"x"}, {"-n"}, fake_ssh("echo 'cap-pull: --since: no' >&2; "
                                                       "echo \"Try 'cap-pull --help' for more information.\" >&2; exit 2"));
    CHECK(answers[0].reason == "ssh: exit status 2: cap-pull: --since: no");
}

TEST_CASE("fleet_pull: a pcapng stream of two link types, each an interface of the output, beside a pcap one") {
    temp_dir dir;
    // "a": pcapng, Ethernet and raw IP interleaved; "b": pcap.
    {
        writer_options o;
        o.format = output_format::pcapng;
        capture_writer w = capture_writer::to_file(dir.path + "/a.pcap", o);
        const std::uint32_t eth = w.add_interface(1, 65535), raw = w.add_interface(101, 65535);
        std::uint8_t data[40] = {'a'};
        for (int i = 0; i < 300; ++i)
            w.write(timestamp{1700000000 + i / 100, static_cast<std::uint32_t>(i % 100) * 10000000u}, data, 40, 40,
                    i % 2 ? raw : eth);
        w.commit();
    }
    make_input(dir, "b", 200, 1700000000, 10000);
    fleet_pull fleet({"a", "b"}, {}, fake_ssh("cat " + dir.path + "/$4.pcap"));
    std::atomic<bool> stop{false};
    REQUIRE(fleet.wait_headers(stop));
    REQUIRE(fleet.ready().size() == 2);
    CHECK(fleet.ready()[0]->interfaces.size() == 2);
    writer_options o;
    o.format = output_format::pcapng;
    const std::string out_path = dir.path + "/out.pcapng";
    capture_writer out = capture_writer::to_file(out_path, o);
    REQUIRE(fleet.merge(out,
                        [&](const fleet_sensor& s, const interface_info& i) {
                            return out.add_named_interface(i.linktype, i.snaplen, s.name);
                        },
                        stop));
    fleet.finish(false);
    out.commit();
    CHECK(fleet.sensors()[0]->state == "done");
    CHECK(fleet.sensors()[0]->packets == 300);
    capture_reader r(out_path);
    packet_view p;
    std::vector<std::string> origin;  // "NAME/LINKTYPE" of each packet
    timestamp last{0, 0};
    bool ordered = true;
    while (r.next(p)) {
        const interface_info& i = r.interfaces()[p.interface];
        origin.push_back(i.name + "/" + std::to_string(i.linktype));
        ordered = ordered && !(p.ts < last);
        last = p.ts;
    }
    CHECK(ordered);
    CHECK(origin.size() == 500);
    CHECK(std::count(origin.begin(), origin.end(), "a/1") == 150);
    CHECK(std::count(origin.begin(), origin.end(), "a/101") == 150);
    CHECK(std::count(origin.begin(), origin.end(), "b/1") == 200);
}
