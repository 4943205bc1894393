// Geohash arithmetic of the GEO commands (cmd_geo.cc), as Redis's
// geohash.c and geohash_helper.c (from the Ardb project) compute it, so that
// scores, positions, distances and search results match Redis to the digit.
//
// A position is stored as the score of a sorted-set member: the 26-bit
// fixed-point longitude and latitude (over [-180, 180] and the Web Mercator
// limits [-85.05112878, 85.05112878]) interleaved into 52 bits, latitude in
// the even bits, longitude in the odd ones (Morton order, so a geohash box
// of `step` bits per axis is one contiguous score range). A search first
// picks the box step from the radius, then reads the box holding the centre
// and its eight neighbours as score ranges and keeps the points whose
// haversine distance (Earth radius 6372797.560856 m) is within the shape.
// GEOHASH re-encodes with latitude over [-90, 90], the standard geohash
// (Niemeyer) alphabet, 11 characters of which the last is always '0'.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace strata::cache::resp::geo {

inline constexpr double kLonMin = -180;
inline constexpr double kLonMax = 180;
inline constexpr double kLatMin = -85.05112878;
inline constexpr double kLatMax = 85.05112878;
inline constexpr int kStepMax = 26;  // bits per axis of a stored score

struct Range {
  double min = 0, max = 0;
};
struct Hash {
  uint64_t bits = 0;
  int step = 0;
  bool zero() const { return bits == 0 && step == 0; }
};
struct Area {
  Range lon, lat;
};

// The interleaved hash of (lon, lat) over the given ranges; false when the
// point is outside them or the Mercator limits.
bool Encode(Range lon_range, Range lat_range, double lon, double lat, int step, Hash* out);
// The score of a stored point. REQUIRES: a valid longitude and latitude.
uint64_t Score(double lon, double lat);
// The box a hash stands for; false for the zero hash.
bool Decode(Hash h, Area* out);
// The position a score stands for (the centre of its box, clamped to the
// limits); false when it does not decode.
bool DecodeScore(double score, double* lon, double* lat);
// `h` as a 52-bit score (the low end of its range).
uint64_t Align52(Hash h);
// Great-circle distance in metres (haversine).
double Distance(double lon1, double lat1, double lon2, double lat2);
// The 11-character standard geohash of a position.
std::string GeohashString(double lon, double lat);

// What a search covers: a circle (radius) or an axis-aligned box (width and
// height), centred at lon/lat, its sizes in `unit_m` metres per unit.
struct Shape {
  bool box = false;
  double lon = 0, lat = 0;
  double radius = 0, width = 0, height = 0;
  double unit_m = 1;
};
// The boxes to read: the centre box first, then north, south, east, west,
// north-east, north-west, south-east, south-west, as Redis reads them; the
// ones that cannot hold a match are zero.
std::array<Hash, 9> SearchBoxes(const Shape& shape);
// Whether the point is inside the shape; *dist_m gets its distance from the
// centre in metres.
bool InShape(const Shape& shape, double lon, double lat, double* dist_m);

}  // namespace strata::cache::resp::geo
