// Preload (`node --import ./bench/peak-rss.mjs …`): prints the process's peak RSS and CPU time (every
// thread, user + system) when it exits.
process.on('exit', () => {
  const u = process.resourceUsage()
  process.stdout.write(`\nPEAK_RSS_KB=${u.maxRSS}\nCPU_US=${u.userCPUTime + u.systemCPUTime}\n`)
})
