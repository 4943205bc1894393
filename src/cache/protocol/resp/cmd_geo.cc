// RESP geo commands (Redis geo.c semantics): positions are members of a
// sorted set scored with their 52-bit geohash (geohash.h), so ZRANGE, ZREM
// and the rest see the same scores as in Redis. GEOADD, GEOPOS, GEODIST,
// GEOHASH, and the searches GEOSEARCH, GEOSEARCHSTORE, GEORADIUS,
// GEORADIUSBYMEMBER (and their _RO forms), which read the nine geohash boxes
// around the centre as score ranges, as Redis does, so that results come in
// Redis's order when no sort is asked for.
#include <algorithm>
#include <cstdio>

#include "cache/protocol/resp/command_util.h"
#include "cache/protocol/resp/geohash.h"

namespace strata::cache::resp {
namespace {

constexpr std::string_view kUnitError = "ERR unsupported unit provided. please use M, KM, FT, MI";
constexpr std::string_view kNoMember = "ERR could not decode requested zset member";

// Metres per unit; false (with the reply) for an unknown unit.
bool ParseUnit(CommandContext& ctx, std::string_view u, double* metres) {
  if (IEquals(u, "m")) *metres = 1;
  else if (IEquals(u, "km")) *metres = 1000;
  else if (IEquals(u, "ft")) *metres = 0.3048;
  else if (IEquals(u, "mi")) *metres = 1609.34;
  else return ctx.w->Error(kUnitError), false;
  return true;
}

bool ParseFloat(CommandContext& ctx, std::string_view s, double* out, std::string_view error = kNotFloat) {
  if (ParseDouble(s, out)) return true;
  ctx.w->Error(error);
  return false;
}

// args[0], args[1] as longitude and latitude within the Mercator limits.
bool ParseLonLat(CommandContext& ctx, const std::string_view* args, double* lon, double* lat) {
  if (!ParseFloat(ctx, args[0], lon) || !ParseFloat(ctx, args[1], lat)) return false;
  if (*lon < geo::kLonMin || *lon > geo::kLonMax || *lat < geo::kLatMin || *lat > geo::kLatMax) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "ERR invalid longitude,latitude pair %f,%f", *lon, *lat);
    ctx.w->Error(buf);
    return false;
  }
  return true;
}

// Distances print with 4 decimals, as Redis's addReplyDoubleDistance.
std::string FormatDistance(double d) {
  char buf[128];
  int n = std::snprintf(buf, sizeof(buf), "%.4f", d);
  return std::string(buf, static_cast<size_t>(n));
}

// A coordinate as Redis's addReplyHumanLongDouble.
void ReplyCoordinate(CommandContext& ctx, double v) { ctx.w->DoubleText(FormatLongDouble(v)); }

// The position of `member`; false when it is absent.
bool MemberPosition(const ZSetObject* z, std::string_view member, double* lon, double* lat) {
  const double* score = z ? z->Score(member) : nullptr;
  return score && geo::DecodeScore(*score, lon, lat);
}

// GEOADD key [NX|XX] [CH] longitude latitude member [...]
void GeoAdd(CommandContext& ctx, Args args) {
  bool nx = false, xx = false, ch = false;
  size_t first = 2;
  for (; first < args.size(); first++) {
    if (IEquals(args[first], "nx")) nx = true;
    else if (IEquals(args[first], "xx")) xx = true;
    else if (IEquals(args[first], "ch")) ch = true;
    else break;
  }
  // No triple at all: Redis hands an empty ZADD on, which refuses it.
  if ((args.size() - first) % 3 != 0 || (nx && xx) || first == args.size()) return ctx.w->Error(kSyntaxError);
  std::vector<double> scores;
  for (size_t i = first; i < args.size(); i += 3) {
    double lon, lat;
    if (!ParseLonLat(ctx, &args[i], &lon, &lat)) return;
    scores.push_back(static_cast<double>(geo::Score(lon, lat)));
  }
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = Open<ZSetObject>(ctx, key, ValueType::kZSet, !xx, &failed);
  if (failed) return;
  if (!z) return ctx.w->Integer(0);
  int64_t added = 0, changed = 0;
  for (size_t j = 0; j < scores.size(); j++) {
    std::string_view member = args[first + 3 * j + 2];
    const double* cur = z->Score(member);
    if ((cur && nx) || (!cur && xx)) continue;
    if (!cur) added++;
    else if (*cur != scores[j]) changed++;
    z->Set(member, scores[j]);
  }
  ctx.engine()->ObjectChanged(key);
  ctx.w->Integer(ch ? added + changed : added);
}

// Opens the sorted set at args[1] for a read; false when the reply is sent
// (WRONGTYPE). *z is null for a missing key.
bool ReadGeoSet(CommandContext& ctx, std::string_view key, ZSetObject** z) {
  bool failed;
  *z = Open<ZSetObject>(ctx, key, ValueType::kZSet, false, &failed);
  return !failed;
}

void GeoPos(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ZSetObject* z;
  if (!ReadGeoSet(ctx, key, &z)) return;
  ctx.w->Array(args.size() - 2);
  for (size_t i = 2; i < args.size(); i++) {
    double lon, lat;
    if (!MemberPosition(z, args[i], &lon, &lat)) {
      ctx.w->NullArray();
      continue;
    }
    ctx.w->Array(2);
    ReplyCoordinate(ctx, lon);
    ReplyCoordinate(ctx, lat);
  }
}

void GeoHash(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ZSetObject* z;
  if (!ReadGeoSet(ctx, key, &z)) return;
  ctx.w->Array(args.size() - 2);
  for (size_t i = 2; i < args.size(); i++) {
    double lon, lat;
    if (!MemberPosition(z, args[i], &lon, &lat)) ctx.w->Null();
    else ctx.w->Bulk(geo::GeohashString(lon, lat));
  }
}

// GEODIST key member1 member2 [M|KM|FT|MI]
void GeoDist(CommandContext& ctx, Args args) {
  double unit = 1;
  if (args.size() > 5) return ctx.w->Error(kSyntaxError);
  if (args.size() == 5 && !ParseUnit(ctx, args[4], &unit)) return;
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ZSetObject* z;
  if (!ReadGeoSet(ctx, key, &z)) return;
  double lon1, lat1, lon2, lat2;
  if (!MemberPosition(z, args[2], &lon1, &lat1) || !MemberPosition(z, args[3], &lon2, &lat2)) return ctx.w->Null();
  ctx.w->Bulk(FormatDistance(geo::Distance(lon1, lat1, lon2, lat2) / unit));
}

// --- searches -----------------------------------------------------------------

enum SearchFlags : int {
  kFromCoords = 1,   // GEORADIUS: centre and radius are positional
  kFromMember = 2,   // GEORADIUSBYMEMBER
  kNoStore = 4,      // the _RO forms
  kSearch = 8,       // GEOSEARCH's options
  kSearchStore = 16  // GEOSEARCHSTORE: the destination is args[1]
};

enum class Sort { kNone, kAsc, kDesc };

struct SearchRequest {
  geo::Shape shape;
  std::string_view store;  // destination key; empty: reply the matches
  bool store_dist = false;
  bool with_dist = false, with_hash = false, with_coord = false;
  bool from_member = false, from_lonlat = false, by_radius = false, by_box = false;
  bool any = false;
  int64_t count = 0;  // 0: all
  Sort sort = Sort::kNone;
};

struct Match {
  const std::string* member;
  double score, lon, lat, dist_m;
};

// A radius (or box sides) and a unit; false with the reply sent.
bool ParseDistance(CommandContext& ctx, const std::string_view* args, geo::Shape* s) {
  if (!ParseFloat(ctx, args[0], &s->radius, "ERR need numeric radius")) return false;
  if (s->radius < 0) return ctx.w->Error("ERR radius cannot be negative"), false;
  return ParseUnit(ctx, args[1], &s->unit_m);
}

bool ParseBox(CommandContext& ctx, const std::string_view* args, geo::Shape* s) {
  if (!ParseFloat(ctx, args[0], &s->width, "ERR need numeric width") ||
      !ParseFloat(ctx, args[1], &s->height, "ERR need numeric height")) {
    return false;
  }
  if (s->width < 0 || s->height < 0) return ctx.w->Error("ERR height or width cannot be negative"), false;
  return ParseUnit(ctx, args[2], &s->unit_m);
}

// The options from args[base..], in Redis's order and with its errors.
bool ParseSearchOptions(CommandContext& ctx, Args args, size_t base, int flags, const ZSetObject* z,
                        SearchRequest* r) {
  size_t left;
  for (size_t i = base; i < args.size(); i++) {
    std::string_view a = args[i];
    left = args.size() - i - 1;  // arguments after this one
    bool search = flags & kSearch, can_store = !(flags & (kNoStore | kSearch));
    if (IEquals(a, "withdist")) {
      r->with_dist = true;
    } else if (IEquals(a, "withhash")) {
      r->with_hash = true;
    } else if (IEquals(a, "withcoord")) {
      r->with_coord = true;
    } else if (IEquals(a, "any")) {
      r->any = true;
    } else if (IEquals(a, "asc")) {
      r->sort = Sort::kAsc;
    } else if (IEquals(a, "desc")) {
      r->sort = Sort::kDesc;
    } else if (IEquals(a, "count") && left >= 1) {
      if (!ParseInt(args[++i], &r->count)) return ctx.w->Error(kNotInteger), false;
      if (r->count <= 0) return ctx.w->Error("ERR COUNT must be > 0"), false;
    } else if ((IEquals(a, "store") || IEquals(a, "storedist")) && left >= 1 && can_store) {
      r->store = args[++i];
      r->store_dist = IEquals(a, "storedist");
    } else if (IEquals(a, "storedist") && (flags & kSearchStore)) {
      r->store_dist = true;
    } else if (IEquals(a, "frommember") && left >= 1 && search && !r->from_lonlat) {
      r->from_member = true;
      // No source key: the reply is the empty one once parsing ends.
      if (z && !MemberPosition(z, args[++i], &r->shape.lon, &r->shape.lat)) return ctx.w->Error(kNoMember), false;
      if (!z) i++;
    } else if (IEquals(a, "fromlonlat") && left >= 2 && search && !r->from_member) {
      if (!ParseLonLat(ctx, &args[i + 1], &r->shape.lon, &r->shape.lat)) return false;
      r->from_lonlat = true;
      i += 2;
    } else if (IEquals(a, "byradius") && left >= 2 && search && !r->by_box) {
      if (!ParseDistance(ctx, &args[i + 1], &r->shape)) return false;
      r->shape.box = false;
      r->by_radius = true;
      i += 2;
    } else if (IEquals(a, "bybox") && left >= 3 && search && !r->by_radius) {
      if (!ParseBox(ctx, &args[i + 1], &r->shape)) return false;
      r->shape.box = true;
      r->by_box = true;
      i += 3;
    } else {
      return ctx.w->Error(kSyntaxError), false;
    }
  }
  return true;
}

// The checks Redis makes once the options are read.
bool CheckSearchRequest(CommandContext& ctx, std::string_view command, int flags, const SearchRequest& r) {
  if (!r.store.empty() && (r.with_dist || r.with_hash || r.with_coord)) {
    ctx.w->Error(std::string("ERR ") + (flags & kSearchStore ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS") +
                 " is not compatible with WITHDIST, WITHHASH and WITHCOORD options");
    return false;
  }
  if ((flags & kSearch) && !(r.from_member || r.from_lonlat)) {
    ctx.w->Error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + std::string(command));
    return false;
  }
  if ((flags & kSearch) && !(r.by_radius || r.by_box)) {
    ctx.w->Error("ERR exactly one of BYRADIUS and BYBOX can be specified for " + std::string(command));
    return false;
  }
  if (r.any && r.count == 0) return ctx.w->Error("ERR the ANY argument requires COUNT argument"), false;
  return true;
}

// Reads the nine boxes around the centre in Redis's order (each box a score
// range [min, max) of the sorted set, ascending), keeping the points inside
// the shape; with `limit` > 0 it stops once that many matched.
std::vector<Match> FindMatches(const ZSetObject& z, const geo::Shape& shape, size_t limit) {
  std::vector<Match> out;
  std::array<geo::Hash, 9> boxes = geo::SearchBoxes(shape);
  int last = -1;
  for (int i = 0; i < 9; i++) {
    const geo::Hash& b = boxes[i];
    if (b.zero()) continue;
    // A huge radius can make neighbours the same box as the one before.
    if (last > 0 && b.bits == boxes[last].bits && b.step == boxes[last].step) continue;
    if (limit && out.size() >= limit) break;
    double min = static_cast<double>(geo::Align52(b));
    double max = static_cast<double>(geo::Align52(geo::Hash{b.bits + 1, b.step}));
    for (auto it = z.ordered().lower_bound({min, std::string()}); it != z.ordered().end() && it->first < max; ++it) {
      Match m{&it->second, it->first, 0, 0, 0};
      if (!geo::DecodeScore(m.score, &m.lon, &m.lat) || !geo::InShape(shape, m.lon, m.lat, &m.dist_m)) continue;
      out.push_back(m);
      if (limit && out.size() >= limit) break;
    }
    last = i;
  }
  return out;
}

void ReplyMatches(CommandContext& ctx, const SearchRequest& r, const std::vector<Match>& matches) {
  size_t options = r.with_dist + r.with_hash + r.with_coord;
  ctx.w->Array(matches.size());
  for (const Match& m : matches) {
    if (options) ctx.w->Array(options + 1);
    ctx.w->Bulk(*m.member);
    if (r.with_dist) ctx.w->Bulk(FormatDistance(m.dist_m / r.shape.unit_m));
    if (r.with_hash) ctx.w->Integer(static_cast<int64_t>(m.score));
    if (r.with_coord) {
      ctx.w->Array(2);
      ReplyCoordinate(ctx, m.lon);
      ReplyCoordinate(ctx, m.lat);
    }
  }
}

// Replaces the destination with the matches (scored by geohash, or by
// distance in the unit with STOREDIST); no match deletes it.
void StoreMatches(CommandContext& ctx, std::string_view dest, const SearchRequest& r,
                  const std::vector<Match>& matches) {
  // GEORADIUS's STORE key is not in the table's key range: invalidate its
  // watches here.
  if (ctx.core->watches()->watched() > 0) ctx.core->watches()->Touch(dest);
  if (matches.empty()) {
    ctx.engine()->Erase(dest);
    return ctx.w->Integer(0);
  }
  auto out = std::make_unique<ZSetObject>();
  for (const Match& m : matches) out->Set(*m.member, r.store_dist ? m.dist_m / r.shape.unit_m : m.score);
  Status s = ctx.engine()->PutObject(dest, std::move(out), 0);
  if (!s.ok()) return ReplyError(ctx, s);
  ctx.w->Integer(static_cast<int64_t>(matches.size()));
}

// Every key the command may write: the source, GEOSEARCHSTORE's destination
// and any argument after STORE/STOREDIST (which one is the destination is
// known only once the options are parsed under the lock).
std::vector<std::string> KeysToLock(CommandContext& ctx, Args args, int src, int flags) {
  std::vector<std::string> keys = {ctx.Key(args[src])};
  if (flags & kSearchStore) keys.push_back(ctx.Key(args[1]));
  if (flags & (kNoStore | kSearch)) return keys;
  for (size_t i = 2; i + 1 < args.size(); i++) {
    if (IEquals(args[i], "store") || IEquals(args[i], "storedist")) keys.push_back(ctx.Key(args[i + 1]));
  }
  return keys;
}

// georadiusGeneric: GEORADIUS[_RO], GEORADIUSBYMEMBER[_RO], GEOSEARCH and
// GEOSEARCHSTORE, with the source key at args[src].
void SearchGeneric(CommandContext& ctx, Args args, int src, int flags) {
  std::vector<std::string> keys = KeysToLock(ctx, args, src, flags);
  KeyLock lock(ctx.engine(), keys);
  ZSetObject* z;
  if (!ReadGeoSet(ctx, keys[0], &z)) return;
  SearchRequest r;
  size_t base = 2;
  if (flags & kFromCoords) {
    base = 6;
    if (!ParseLonLat(ctx, &args[2], &r.shape.lon, &r.shape.lat) || !ParseDistance(ctx, &args[4], &r.shape)) return;
  } else if (flags & kFromMember) {
    base = 5;
    if (z && !MemberPosition(z, args[2], &r.shape.lon, &r.shape.lat)) return ctx.w->Error(kNoMember);
    if (z && !ParseDistance(ctx, &args[3], &r.shape)) return;
  } else if (flags & kSearchStore) {
    base = 3;
    r.store = args[1];
  }
  if (!ParseSearchOptions(ctx, args, base, flags, z, &r) || !CheckSearchRequest(ctx, args[0], flags, r)) return;
  std::string dest = r.store.empty() ? std::string() : std::string(ctx.Key(r.store));
  if (!z) return dest.empty() ? ctx.w->Array(0) : StoreMatches(ctx, dest, r, {});
  // COUNT without a sort means the nearest ones (ANY: the first found).
  if (r.count != 0 && r.sort == Sort::kNone && !r.any) r.sort = Sort::kAsc;
  std::vector<Match> matches = FindMatches(*z, r.shape, r.any ? static_cast<size_t>(r.count) : 0);
  if (r.sort != Sort::kNone) {
    bool asc = r.sort == Sort::kAsc;
    std::stable_sort(matches.begin(), matches.end(),
                     [asc](const Match& a, const Match& b) { return asc ? a.dist_m < b.dist_m : a.dist_m > b.dist_m; });
  }
  if (r.count != 0 && matches.size() > static_cast<size_t>(r.count)) matches.resize(static_cast<size_t>(r.count));
  if (dest.empty()) return ReplyMatches(ctx, r, matches);
  // The members point into the source, which may be the destination.
  std::vector<std::string> members;
  for (const Match& m : matches) members.push_back(*m.member);
  for (size_t i = 0; i < matches.size(); i++) matches[i].member = &members[i];
  StoreMatches(ctx, dest, r, matches);
}

void GeoRadius(CommandContext& ctx, Args a) { SearchGeneric(ctx, a, 1, kFromCoords); }
void GeoRadiusRo(CommandContext& ctx, Args a) { SearchGeneric(ctx, a, 1, kFromCoords | kNoStore); }
void GeoRadiusByMember(CommandContext& ctx, Args a) { SearchGeneric(ctx, a, 1, kFromMember); }
void GeoRadiusByMemberRo(CommandContext& ctx, Args a) { SearchGeneric(ctx, a, 1, kFromMember | kNoStore); }
void GeoSearch(CommandContext& ctx, Args a) { SearchGeneric(ctx, a, 1, kSearch); }
void GeoSearchStore(CommandContext& ctx, Args a) { SearchGeneric(ctx, a, 2, kSearch | kSearchStore); }

}  // namespace

void RegisterGeoCommands(CommandTable& t) {
  t.Add({"geoadd", -5, kWrite | kContainer, 1, 1, 1, GeoAdd});
  t.Add({"geopos", -2, kReadOnly | kContainer, 1, 1, 1, GeoPos});
  t.Add({"geohash", -2, kReadOnly | kContainer, 1, 1, 1, GeoHash});
  t.Add({"geodist", -4, kReadOnly | kContainer, 1, 1, 1, GeoDist});
  t.Add({"georadius", -6, kWrite | kContainer, 1, 1, 1, GeoRadius});
  t.Add({"georadius_ro", -6, kReadOnly | kContainer, 1, 1, 1, GeoRadiusRo});
  t.Add({"georadiusbymember", -5, kWrite | kContainer, 1, 1, 1, GeoRadiusByMember});
  t.Add({"georadiusbymember_ro", -5, kReadOnly | kContainer, 1, 1, 1, GeoRadiusByMemberRo});
  t.Add({"geosearch", -7, kReadOnly | kContainer, 1, 1, 1, GeoSearch});
  t.Add({"geosearchstore", -8, kWrite | kContainer, 1, 2, 1, GeoSearchStore});
}

}  // namespace strata::cache::resp
