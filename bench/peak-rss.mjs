// Preload (`node --import ./bench/peak-rss.mjs …`): prints the process's peak RSS when it exits.
process.on('exit', () => process.stdout.write(`\nPEAK_RSS_KB=${process.resourceUsage().maxRSS}\n`))
