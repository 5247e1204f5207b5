// A C++ leak: the report names the function demangled.
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace app {
struct Logger {
  int open_log(const std::string &path) { return ::open(path.c_str(), O_RDONLY); }
};
}  // namespace app

int main()
{
  app::Logger l;
  std::printf("leaked %d\n", l.open_log("/dev/null"));
  return 0;
}
