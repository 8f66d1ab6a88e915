// Counts the packets of the capture files named, through the installed
// headers: proof that find_package(capture) brings everything it needs.
#include <capture/sys/digest.hpp>
#include <capture/engine/info.hpp>
#include <capture/text/record.hpp>

#include <iostream>

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        capture::capture_summary s = capture::summarize_capture(argv[i]);
        capture::record r{{"file", argv[i]}, {"packets", std::to_string(s.packets)}};
        std::cout << capture::format_record(r) << '\n';
    }
    return 0;
}
