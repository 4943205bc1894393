#include "cache/protocol/resp/geohash.h"

#include <cmath>

namespace strata::cache::resp::geo {
namespace {

constexpr double kEarthRadiusM = 6372797.560856;  // Redis's quadratic mean radius for WGS-84
constexpr double kMercatorMax = 20037726.37;
constexpr double kDegToRad = M_PI / 180.0;
constexpr uint64_t kEven = 0x5555555555555555ull;
constexpr uint64_t kOdd = 0xaaaaaaaaaaaaaaaaull;

double ToRad(double deg) { return deg * kDegToRad; }
double ToDeg(double rad) { return rad / kDegToRad; }

// The 32 bits of v moved to the even bit positions (bit i to bit 2i).
uint64_t Spread(uint32_t v) {
  uint64_t x = v;
  x = (x | (x << 16)) & 0x0000FFFF0000FFFFull;
  x = (x | (x << 8)) & 0x00FF00FF00FF00FFull;
  x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0Full;
  x = (x | (x << 2)) & 0x3333333333333333ull;
  x = (x | (x << 1)) & kEven;
  return x;
}

// The inverse of Spread: the even bits of v packed into 32.
uint32_t Compact(uint64_t v) {
  uint64_t x = v & kEven;
  x = (x | (x >> 1)) & 0x3333333333333333ull;
  x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0Full;
  x = (x | (x >> 4)) & 0x00FF00FF00FF00FFull;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
  x = (x | (x >> 16)) & 0x00000000FFFFFFFFull;
  return static_cast<uint32_t>(x);
}

constexpr Range kLonRange{kLonMin, kLonMax};
constexpr Range kLatRange{kLatMin, kLatMax};

// One box east (d > 0) or west along the longitude bits (the odd ones): the
// latitude bits are filled with ones so the carry runs through them.
Hash MoveLon(Hash h, int d) {
  uint64_t x = h.bits & kOdd, y = h.bits & kEven;
  uint64_t fill = kEven >> (64 - h.step * 2);
  x = d > 0 ? x + (fill + 1) : (x | fill) - (fill + 1);
  h.bits = (x & (kOdd >> (64 - h.step * 2))) | y;
  return h;
}

Hash MoveLat(Hash h, int d) {
  uint64_t x = h.bits & kOdd, y = h.bits & kEven;
  uint64_t fill = kOdd >> (64 - h.step * 2);
  y = d > 0 ? y + (fill + 1) : (y | fill) - (fill + 1);
  h.bits = x | (y & (kEven >> (64 - h.step * 2)));
  return h;
}

Hash Move(Hash h, int lon, int lat) {
  if (lon != 0) h = MoveLon(h, lon);
  if (lat != 0) h = MoveLat(h, lat);
  return h;
}

// geohashEstimateStepsByRadius: the box step whose size covers the radius.
int StepsForRadius(double range_m, double lat) {
  if (range_m == 0) return kStepMax;
  int step = 1;
  while (range_m < kMercatorMax) {
    range_m *= 2;
    step++;
  }
  step -= 2;  // so that the range is inside the boxes in most cases
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > kStepMax) step = kStepMax;
  return step;
}

// The shape's bounding box: {min lon, min lat, max lon, max lat}. Meridians
// converge towards the pole, so the longitude span is taken on the edge
// nearer to it.
std::array<double, 4> BoundingBox(const Shape& s) {
  double height = s.unit_m * (s.box ? s.height / 2 : s.radius);
  double width = s.unit_m * (s.box ? s.width / 2 : s.radius);
  const double lat_delta = ToDeg(height / kEarthRadiusM);
  const double lon_delta_top = ToDeg(width / kEarthRadiusM / std::cos(ToRad(s.lat + lat_delta)));
  const double lon_delta_bottom = ToDeg(width / kEarthRadiusM / std::cos(ToRad(s.lat - lat_delta)));
  double lon_delta = s.lat < 0 ? lon_delta_bottom : lon_delta_top;
  return {s.lon - lon_delta, s.lat - lat_delta, s.lon + lon_delta, s.lat + lat_delta};
}

bool DecodeRange(Range lon_r, Range lat_r, Hash h, Area* out) {
  if (h.zero()) return false;
  uint32_t ilat = Compact(h.bits), ilon = Compact(h.bits >> 1);
  double cells = static_cast<double>(1ull << h.step);
  double lat_scale = lat_r.max - lat_r.min, lon_scale = lon_r.max - lon_r.min;
  out->lat.min = lat_r.min + (ilat * 1.0 / cells) * lat_scale;
  out->lat.max = lat_r.min + (static_cast<uint32_t>(ilat + 1) * 1.0 / cells) * lat_scale;
  out->lon.min = lon_r.min + (ilon * 1.0 / cells) * lon_scale;
  out->lon.max = lon_r.min + (static_cast<uint32_t>(ilon + 1) * 1.0 / cells) * lon_scale;
  return true;
}

// A score as Redis's (uint64_t) cast of it yields on x86-64 (only scores
// that GEOADD did not write are ever outside 0..2^52).
uint64_t ScoreBits(double score) {
  constexpr double k63 = 9223372036854775808.0;
  if (score >= -k63 && score < k63) return static_cast<uint64_t>(static_cast<int64_t>(score));
  if (score >= k63 && score < 2 * k63) return static_cast<uint64_t>(static_cast<int64_t>(score - k63)) ^ (1ull << 63);
  return score < 0 ? 1ull << 63 : 0;
}

}  // namespace

bool Encode(Range lon_r, Range lat_r, double lon, double lat, int step, Hash* out) {
  if (step <= 0 || step > 32) return false;
  if (lon > kLonMax || lon < kLonMin || lat > kLatMax || lat < kLatMin) return false;
  out->bits = 0;
  out->step = step;
  if (lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max) return false;
  double lat_offset = (lat - lat_r.min) / (lat_r.max - lat_r.min);
  double lon_offset = (lon - lon_r.min) / (lon_r.max - lon_r.min);
  lat_offset *= static_cast<double>(1ull << step);
  lon_offset *= static_cast<double>(1ull << step);
  out->bits = Spread(static_cast<uint32_t>(lat_offset)) | (Spread(static_cast<uint32_t>(lon_offset)) << 1);
  return true;
}

uint64_t Align52(Hash h) { return h.bits << (52 - h.step * 2); }

uint64_t Score(double lon, double lat) {
  Hash h;
  Encode(kLonRange, kLatRange, lon, lat, kStepMax, &h);
  return Align52(h);
}

bool Decode(Hash h, Area* out) { return DecodeRange(kLonRange, kLatRange, h, out); }

bool DecodeScore(double score, double* lon, double* lat) {
  Area a;
  if (!Decode(Hash{ScoreBits(score), kStepMax}, &a)) return false;
  *lon = std::min(std::max((a.lon.min + a.lon.max) / 2, kLonMin), kLonMax);
  *lat = std::min(std::max((a.lat.min + a.lat.max) / 2, kLatMin), kLatMax);
  return true;
}

double Distance(double lon1, double lat1, double lon2, double lat2) {
  double lat1r = ToRad(lat1), lon1r = ToRad(lon1), lat2r = ToRad(lat2), lon2r = ToRad(lon2);
  double u = std::sin((lat2r - lat1r) / 2);
  double v = std::sin((lon2r - lon1r) / 2);
  return 2.0 * kEarthRadiusM * std::asin(std::sqrt(u * u + std::cos(lat1r) * std::cos(lat2r) * v * v));
}

std::string GeohashString(double lon, double lat) {
  static constexpr char kAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
  Hash h;
  Encode(Range{-180, 180}, Range{-90, 90}, lon, lat, kStepMax, &h);
  std::string out(11, '0');  // 52 bits make 10 characters; the 11th is always '0'
  for (int i = 0; i < 10; i++) out[i] = kAlphabet[(h.bits >> (52 - (i + 1) * 5)) & 0x1f];
  return out;
}

std::array<Hash, 9> SearchBoxes(const Shape& shape) {
  std::array<double, 4> bounds = BoundingBox(shape);
  double radius_m = shape.box ? std::sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2))
                              : shape.radius;
  radius_m *= shape.unit_m;
  int steps = StepsForRadius(radius_m, shape.lat);
  Hash centre;
  Encode(kLonRange, kLatRange, shape.lon, shape.lat, steps, &centre);
  // The step is one too fine when a side's neighbour does not reach the
  // bounding box (the centre near an edge of its box).
  Area n, s, e, w;
  Decode(Move(centre, 0, 1), &n);
  Decode(Move(centre, 0, -1), &s);
  Decode(Move(centre, 1, 0), &e);
  Decode(Move(centre, -1, 0), &w);
  if (steps > 1 && (n.lat.max < bounds[3] || s.lat.min > bounds[1] || e.lon.max < bounds[2] || w.lon.min > bounds[0])) {
    steps--;
    Encode(kLonRange, kLatRange, shape.lon, shape.lat, steps, &centre);
  }
  Area area;
  Decode(centre, &area);
  // Redis's order: centre, N, S, E, W, NE, NW, SE, SW.
  static constexpr int kMoves[9][2] = {{0, 0}, {0, 1}, {0, -1}, {1, 0}, {-1, 0}, {1, 1}, {-1, 1}, {1, -1}, {-1, -1}};
  std::array<Hash, 9> boxes;
  for (int i = 0; i < 9; i++) boxes[i] = Move(centre, kMoves[i][0], kMoves[i][1]);
  if (steps >= 2) {
    // Drop the neighbours on a side where the centre box already covers
    // the bounding box.
    bool drop_s = area.lat.min < bounds[1], drop_n = area.lat.max > bounds[3];
    bool drop_w = area.lon.min < bounds[0], drop_e = area.lon.max > bounds[2];
    for (int i = 1; i < 9; i++) {
      int dlon = kMoves[i][0], dlat = kMoves[i][1];
      if ((dlat < 0 && drop_s) || (dlat > 0 && drop_n) || (dlon < 0 && drop_w) || (dlon > 0 && drop_e)) boxes[i] = Hash{};
    }
  }
  return boxes;
}

bool InShape(const Shape& shape, double lon, double lat, double* dist_m) {
  if (!shape.box) {
    *dist_m = Distance(shape.lon, shape.lat, lon, lat);
    return *dist_m <= shape.radius * shape.unit_m;
  }
  double lon_dist = Distance(lon, lat, shape.lon, lat);
  double lat_dist = Distance(lon, lat, lon, shape.lat);
  if (lon_dist > shape.width * shape.unit_m / 2 || lat_dist > shape.height * shape.unit_m / 2) return false;
  *dist_m = Distance(shape.lon, shape.lat, lon, lat);
  return true;
}

}  // namespace strata::cache::resp::geo
