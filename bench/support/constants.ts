/** Size of the fake homeserver's media download, and of the uploads the benchmarks send. */
export const MEDIA_BYTES = 50 * 1024 * 1024;
