/**
 * What exercises may import, as `#kit`: small, well-tested stand-ins for the world
 * (servers on loopback, clocks, buses) so exercise code stays about the pattern.
 */
export {};
