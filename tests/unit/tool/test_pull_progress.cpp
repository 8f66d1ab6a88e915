// pull_progress.hpp: the records a running pull keeps up to date: its
// own, and those of the captures a pull of alerts makes, which count what
// earlier groups read for them.
#include "capture/tool/pull_progress.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <sys/stat.h>

#include <chrono>
#include <sstream>
#include <thread>

using namespace capture;

namespace {
bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}
}  // namespace

TEST_CASE("the records: a pull's own, and a capture's that counts earlier groups") {
    test_support::temp_dir dir;
    cli::context ctx;
    std::ostringstream err;
    ctx.err = &err;
    pull_progress progress;
    progress.files_total = 4;
    progress.bytes_total = 4000;
    progress.files_done = 1;
    progress.bytes_read = 1000;
    progress.packets_written = 7;
    progress.packet_time = 1700000000;
    record own{{"id", "aaaaaa"}, {"kind", "pull"}, {"state", "running"}};
    record merged{{"id", "bbbbbb"}, {"kind", "pull"}, {"state", "running"}};
    std::mutex rec_mutex;
    const std::string own_path = dir.path + "/own.record", merged_path = dir.path + "/merged.record";
    {
        detail::progress_reporter reporter(
            ctx, progress,
            {detail::progress_target{own_path, &own},
             detail::progress_target{merged_path, &merged, false, 3, 10, 3000, 10000}},
            rec_mutex);
        // Written once a second: waited for, at most 10 s.
        for (int i = 0; i < 1000 && !(exists(own_path) && exists(merged_path)); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const record o = read_record_file(own_path);
    CHECK(o.get("progress") == "2023-11-14T22:13:20Z, 1/4 files");
    CHECK(o.get("files_done") == "1");
    CHECK(o.get("packets") == "7");
    CHECK(o.get("read_bytes") == "1000");
    CHECK(o.get("total_bytes") == "4000");
    const record m = read_record_file(merged_path);
    CHECK(m.get("progress") == "2023-11-14T22:13:20Z, 4/10 files");
    CHECK(m.get("files_done") == "4");
    CHECK_FALSE(m.has("packets"));
    CHECK(m.get("read_bytes") == "4000");
    CHECK(m.get("total_bytes") == "10000");
}
