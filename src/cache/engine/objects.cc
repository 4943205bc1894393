#include "cache/engine/objects.h"

#include <algorithm>
#include <iterator>

namespace strata::cache {

const std::string* HashObject::Get(std::string_view field) const {
  auto it = map_.find(std::string(field));
  return it == map_.end() ? nullptr : &it->second;
}

bool HashObject::Set(std::string_view field, std::string_view value) {
  auto [it, inserted] = map_.try_emplace(std::string(field));
  if (inserted) {
    bytes_ += field.size();
    scan_.Insert(&it->first);
  }
  bytes_ = bytes_ - it->second.size() + value.size();
  it->second.assign(value);
  return inserted;
}

bool HashObject::Del(std::string_view field) {
  auto it = map_.find(std::string(field));
  if (it == map_.end()) return false;
  bytes_ -= it->first.size() + it->second.size();
  scan_.Erase(&it->first);
  map_.erase(it);
  return true;
}

void ListObject::Push(bool left, std::string_view v) {
  bytes_ += v.size();
  if (left) list_.emplace_front(v);
  else list_.emplace_back(v);
}

std::string ListObject::Pop(bool left) {
  std::string out;
  if (left) {
    out = std::move(list_.front());
    list_.pop_front();
  } else {
    out = std::move(list_.back());
    list_.pop_back();
  }
  bytes_ -= out.size();
  return out;
}

void ListObject::Set(size_t i, std::string_view v) {
  bytes_ = bytes_ - list_[i].size() + v.size();
  list_[i].assign(v);
}

void ListObject::Trim(size_t start, size_t stop) {
  std::deque<std::string> kept(std::make_move_iterator(list_.begin() + start),
                               std::make_move_iterator(list_.begin() + stop + 1));
  list_.swap(kept);
  bytes_ = 0;
  for (const auto& s : list_) bytes_ += s.size();
}

size_t ListObject::Remove(int64_t count, std::string_view v) {
  size_t removed = 0;
  size_t limit = count == 0 ? list_.size() : static_cast<size_t>(count < 0 ? -count : count);
  if (count >= 0) {
    for (auto it = list_.begin(); it != list_.end() && removed < limit;) {
      if (*it == v) { it = list_.erase(it); ++removed; } else { ++it; }
    }
  } else {
    for (size_t i = list_.size(); i > 0 && removed < limit; --i) {
      if (list_[i - 1] == v) { list_.erase(list_.begin() + static_cast<long>(i - 1)); ++removed; }
    }
  }
  bytes_ -= removed * v.size();
  return removed;
}

void ListObject::Insert(size_t pos, std::string_view v) {
  bytes_ += v.size();
  list_.emplace(list_.begin() + static_cast<long>(pos), v);
}

bool SetObject::Add(std::string_view m) {
  auto [it, inserted] = set_.emplace(m);
  if (inserted) {
    bytes_ += m.size();
    scan_.Insert(&*it);
  }
  return inserted;
}

bool SetObject::Remove(std::string_view m) {
  auto it = set_.find(std::string(m));
  if (it == set_.end()) return false;
  scan_.Erase(&*it);
  set_.erase(it);
  bytes_ -= m.size();
  return true;
}

const double* ZSetObject::Score(std::string_view m) const {
  auto it = scores_.find(std::string(m));
  return it == scores_.end() ? nullptr : &it->second;
}

bool ZSetObject::Set(std::string_view m, double score) {
  std::string key(m);
  auto it = scores_.find(key);
  if (it != scores_.end()) {
    ordered_.erase({it->second, key});
    it->second = score;
    ordered_.emplace(score, std::move(key));
    return false;
  }
  auto added = scores_.emplace(key, score).first;
  scan_.Insert(&added->first);
  ordered_.emplace(score, std::move(key));
  bytes_ += m.size();
  return true;
}

bool ZSetObject::Remove(std::string_view m) {
  auto it = scores_.find(std::string(m));
  if (it == scores_.end()) return false;
  ordered_.erase({it->second, it->first});
  scan_.Erase(&it->first);
  scores_.erase(it);
  bytes_ -= m.size();
  return true;
}

int64_t ZSetObject::Rank(std::string_view m) const {
  const double* s = Score(m);
  if (!s) return -1;
  auto it = ordered_.find({*s, std::string(m)});
  return std::distance(ordered_.begin(), it);
}

}  // namespace strata::cache
