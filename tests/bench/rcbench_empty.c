/* rcbench_empty: an empty library to preload, the benchmark's baseline for
 * "any preloaded library": the loader's work (open, map, relocate, the
 * extra mappings every fork copies) without anything rcleak does. */
int rcbench_empty_marker(void);

int rcbench_empty_marker(void)
{
	return 0;
}
