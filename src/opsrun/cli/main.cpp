#include <cstdio>

int main() {
  std::puts("opsrun: under construction");
  return 0;
}
