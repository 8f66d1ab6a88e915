// Alert lines into flows: Suricata EVE JSON, Zeek conn and notice logs (TSV
// and JSON), our own records; the expression each flow makes. The lines are
// hand-written in the formats Suricata's and Zeek's documentation give
// (Debian bookworm packages no suricata to run here).
#include "capture/text/alerts.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace {

struct read_result {
    std::vector<capture::flow_alert> alerts;
    std::vector<std::string> errors;
};

read_result read_all(const std::string& text) {
    std::istringstream in(text);
    capture::alert_reader reader(in, "alerts");
    read_result out;
    for (;;) {
        capture::flow_alert a;
        try {
            if (!reader.next(a)) break;
            out.alerts.push_back(a);
        } catch (const capture::alert_error& e) {
            out.errors.push_back(e.what());
        }
    }
    return out;
}

}  // namespace

TEST_CASE("a Suricata alert: its tuple, time, flow id and signature") {
    auto r = read_all(
        R"({"timestamp":"2023-11-14T22:13:22.419732+0000","flow_id":1234567890123456,"in_iface":"eth0",)"
        R"("event_type":"alert","vlan":[100],"src_ip":"10.0.2.75","src_port":36790,"dest_ip":"192.0.2.17",)"
        R"("dest_port":443,"proto":"TCP","alert":{"signature_id":2100498,"signature":"GPL ATTACK_RESPONSE"},)"
        R"("flow":{"start":"2023-11-14T22:13:20.000001+0000"}})"
        "\n");
    REQUIRE(r.errors.empty());
    REQUIRE(r.alerts.size() == 1);
    const auto& a = r.alerts[0];
    CHECK(a.source == "suricata");
    CHECK(a.src == "10.0.2.75");
    CHECK(a.dst == "192.0.2.17");
    CHECK(a.sport == 36790);
    CHECK(a.dport == 443);
    CHECK(a.proto == "tcp");
    CHECK(a.time == "2023-11-14T22:13:22.419732+0000");
    CHECK(a.start_time == "2023-11-14T22:13:20.000001+0000");
    CHECK(a.alert_id == "1234567890123456");
    CHECK(a.signature == "GPL ATTACK_RESPONSE");
    CHECK(a.vlan);
    CHECK(capture::flow_expression(a) ==
          "tcp and ((src host 10.0.2.75 and src port 36790 and dst host 192.0.2.17 and dst port 443) or "
          "(src host 192.0.2.17 and src port 443 and dst host 10.0.2.75 and dst port 36790))");
}

TEST_CASE("ICMP and ICMPv6 go by their hosts alone; IPv6 addresses are written canonically") {
    auto r = read_all(
        R"({"timestamp":"2023-11-14T22:13:22Z","event_type":"alert","src_ip":"192.0.2.214","dest_ip":"10.0.0.20","proto":"ICMP","icmp_type":8})"
        "\n"
        R"({"timestamp":"2023-11-14T22:13:22Z","event_type":"anomaly","src_ip":"2001:DB8:0:0::1","dest_ip":"2001:db8::2","proto":"IPv6-ICMP","anomaly":{"event":"decoder.icmpv6.unknown_type"}})"
        "\n");
    REQUIRE(r.errors.empty());
    REQUIRE(r.alerts.size() == 2);
    CHECK(capture::flow_expression(r.alerts[0]) ==
          "icmp and ((src host 192.0.2.214 and dst host 10.0.0.20) or (src host 10.0.0.20 and dst host 192.0.2.214))");
    CHECK(r.alerts[1].src == "2001:db8::1");
    CHECK(r.alerts[1].proto == "icmp6");
    CHECK(r.alerts[1].signature == "anomaly decoder.icmpv6.unknown_type");
    CHECK(capture::flow_expression(r.alerts[1]).rfind("icmp6 and ((src host 2001:db8::1 and", 0) == 0);
}

TEST_CASE("Suricata events without a flow are skipped, not bad") {
    auto r = read_all(R"({"timestamp":"2023-11-14T22:13:22Z","event_type":"stats","stats":{"uptime":5}})" "\n");
    CHECK(r.errors.empty());
    CHECK(r.alerts.empty());
}

TEST_CASE("Zeek conn.log as TSV, after its header, with unset fields") {
    auto r = read_all(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\n"
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\n"
        "1700000002.419110\tCAbc12\t2001:db8:0:a::a00:14\t50227\t2001:db8:106::2d\t443\ttcp\tssl\t3.5\n"
        "1700000003.000000\tCdns1\t10.0.0.1\t5353\t10.0.0.2\t53\tudp\t-\t-\n"
        "1700000003.000000\tCbad\t10.0.0.1\t5353\n"
        "#close\t2023-11-14-22-20-00\n");
    REQUIRE(r.alerts.size() == 2);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].rfind("alerts:10: a Zeek row of 4 fields", 0) == 0);
    const auto& a = r.alerts[0];
    CHECK(a.source == "zeek");
    CHECK(a.time == "@1700000002.419110");
    CHECK(a.duration == Approx(3.5));
    CHECK(a.uid == "CAbc12");
    CHECK(a.alert_id == "CAbc12");
    CHECK(a.signature.empty());
    CHECK(r.alerts[1].duration == 0);
    CHECK(r.alerts[1].proto == "udp");
    CHECK(r.alerts[1].dport == 53);
}

TEST_CASE("Zeek notice.log as TSV and as JSON, conn.log as JSON") {
    auto r = read_all(
        "#separator \\x09\n#path\tnotice\n"
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tnote\tmsg\tsrc\tdst\tp\n"
        "1700000002.5\tCn1\t10.0.0.20\t49704\t192.0.2.1\t80\ttcp\tHTTP::SQL_Injection_Attacker\tan\\x09attack\t-\t-\t-\n"
        "1700000004.0\t-\t-\t-\t-\t-\t-\tScan::Port_Scan\t10.0.0.9 scanned 20 ports\t10.0.0.9\t-\t-\n"
        R"({"ts":1700000002.55,"uid":"CZeek9","id.orig_h":"10.0.0.20","id.orig_p":49704,"id.resp_h":"192.0.2.1","id.resp_p":80,"proto":"tcp","duration":1.25})"
        "\n"
        R"({"ts":"2023-11-14T22:13:22.550000Z","note":"SSL::Invalid_Server_Cert","msg":"x","id.orig_h":"10.0.0.3","id.orig_p":1000,"id.resp_h":"192.0.2.3","id.resp_p":443,"proto":"tcp"})"
        "\n");
    REQUIRE(r.errors.empty());
    REQUIRE(r.alerts.size() == 4);
    CHECK(r.alerts[0].signature == "HTTP::SQL_Injection_Attacker");
    CHECK(r.alerts[0].uid == "Cn1");
    CHECK(r.alerts[1].src == "10.0.0.9");
    CHECK(capture::flow_expression(r.alerts[1]) == "host 10.0.0.9");
    CHECK(r.alerts[2].time == "@1700000002.550000");
    CHECK(r.alerts[2].duration == Approx(1.25));
    CHECK(r.alerts[3].time == "2023-11-14T22:13:22.550000Z");
    CHECK(r.alerts[3].signature == "SSL::Invalid_Server_Cert");
}

TEST_CASE("our own records: expr and the window exactly, or a tuple and a time") {
    auto r = read_all(
        "id=abc234\tkind=pull\tstate=done\tdesc=pull host 10.0.0.28\texpr=host 10.0.0.28\tvlan=yes\t"
        "since=2023-11-14T22:13:22Z\tuntil=2023-11-14T22:13:23Z\n"
        "src=10.0.0.1\tdst=10.0.0.2\tsport=1\tdport=2\tproto=udp\ttime=@1700000000\tduration=2\tsignature=mine\t"
        "uid=Cx\talert_id=7\n"
        R"({"expr":"port 53","since":"@1700000000","until":"@1700000001","uid":"Cj"})"
        "\n");
    REQUIRE(r.errors.empty());
    REQUIRE(r.alerts.size() == 3);
    CHECK(r.alerts[0].source == "record");
    CHECK(capture::flow_expression(r.alerts[0]) == "host 10.0.0.28");
    CHECK(r.alerts[0].since == "2023-11-14T22:13:22Z");
    CHECK(r.alerts[0].alert_id == "abc234");
    CHECK(r.alerts[0].signature == "pull host 10.0.0.28");
    CHECK(r.alerts[0].vlan);
    CHECK(capture::flow_expression(r.alerts[1]) ==
          "udp and ((src host 10.0.0.1 and src port 1 and dst host 10.0.0.2 and dst port 2) or "
          "(src host 10.0.0.2 and src port 2 and dst host 10.0.0.1 and dst port 1))");
    CHECK(r.alerts[1].signature == "mine");
    CHECK(r.alerts[1].alert_id == "7");
    CHECK(r.alerts[2].source == "record");
    CHECK(r.alerts[2].uid == "Cj");
    CHECK(r.alerts[2].expression == "port 53");
}

TEST_CASE("bad lines name their line and why; the next line is still read") {
    auto r = read_all(
        "{not json\n"
        R"({"timestamp":"2023-11-14T22:13:22Z","event_type":"alert","src_ip":"10.0.0.1 or host 1.2.3.4","dest_ip":"10.0.0.2","proto":"TCP"})"
        "\n"
        R"({"timestamp":"2023-11-14T22:13:22Z","event_type":"alert","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","proto":"TCP","src_port":70000})"
        "\n"
        R"({"timestamp":"2023-11-14T22:13:22Z","event_type":"alert","src_ip":"10.0.0.1","dest_ip":"::1","proto":"TCP"})"
        "\n"
        R"({"event_type":"alert","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","proto":"TCP"})"
        "\n"
        R"({"timestamp":"2023-11-14T22:13:22Z","event_type":"alert","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","proto":"gre and host 1.1.1.1"})"
        "\n"
        "/nsm/some.pcap\n"
        "expr=host 10.0.0.1\n"
        R"({"timestamp":"2023-11-14T22:13:22Z","event_type":"alert","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","proto":"UDP","src_port":1,"dest_port":2})"
        "\n");
    REQUIRE(r.alerts.size() == 1);
    CHECK(r.alerts[0].sport == 1);
    REQUIRE(r.errors.size() == 8);
    CHECK(r.errors[0].rfind("alerts:1: not JSON", 0) == 0);
    CHECK(r.errors[1] == "alerts:2: source address: '10.0.0.1 or host 1.2.3.4' is not an IPv4 or IPv6 address");
    CHECK(r.errors[2] == "alerts:3: source port: '70000' is not a port");
    CHECK(r.errors[3].find("not of one IP version") != std::string::npos);
    CHECK(r.errors[4] == "alerts:5: no timestamp: no time to pull from");
    CHECK(r.errors[5].rfind("alerts:6: proto: 'gre and host 1.1.1.1'", 0) == 0);
    CHECK(r.errors[6] == "alerts:7: a bare path, not an alert");
    CHECK(r.errors[7] == "alerts:8: no time: give since and until, or time (and duration)");
}
