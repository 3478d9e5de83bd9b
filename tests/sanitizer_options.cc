// Sanitizer defaults for the test binaries. Hostile-size tests ask the
// library for impossible allocations on purpose: the allocator must return
// null (so qgemm can report QGEMM_OUT_OF_MEMORY) instead of aborting.
// NOLINTBEGIN(bugprone-reserved-identifier): the sanitizers' own names.
extern "C" {
const char* __asan_default_options();
const char* __asan_default_options() {
  return "allocator_may_return_null=1:detect_leaks=1";
}
const char* __tsan_default_options();
const char* __tsan_default_options() {
  return "allocator_may_return_null=1:halt_on_error=1";
}
}
// NOLINTEND(bugprone-reserved-identifier)
