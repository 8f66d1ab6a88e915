// cap-stop's matching of what it is given to the captures it knows.
#include "capture/tool/stop_tool.hpp"

#include <catch2/catch.hpp>

TEST_CASE("a target is matched by id, by file, or by a bare id") {
    std::vector<capture::registry_entry> entries{
        {"/d/a.pcap.record", capture::record{{"id", "abcdef"}, {"kind", "live"}, {"file", "/d/a.pcap"}}},
        {"/d/b.pcap.record", capture::record{{"id", "ghijkm"}, {"kind", "pull"}, {"file", "/d/b.pcap"}}},
    };
    auto one = [&](const capture::record& t) {
        auto found = capture::detail::match_target(entries, t);
        return found.size() == 1 ? found[0]->rec.get("id") : std::to_string(found.size());
    };
    CHECK(one(capture::record{{"id", "ghijkm"}, {"file", "/elsewhere"}}) == "ghijkm");
    CHECK(one(capture::record{{"file", "/d/a.pcap"}}) == "abcdef");
    CHECK(one(capture::record{{"file", "/d/b.pcap.record"}}) == "ghijkm");
    CHECK(one(capture::record{{"file", "abcdef"}}) == "abcdef");  // a bare line that looks like an id
    CHECK(one(capture::record{{"file", "zzzzzz"}}) == "0");
    CHECK(one(capture::record{{"id", "abcdef"}, {"kind", "live"}}) == "abcdef");
}
