'use strict';
// Reads its input but never prints the ready line.
process.stdin.resume();
