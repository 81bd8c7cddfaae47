// Script / ModuleMap: compile entry points of the public Tengo API.
#include "engines/tengo/core.hpp"

namespace llmspell::tengo {

using namespace detail;

void ModuleMap::addBuiltinModule(const std::string& name,
                                 std::map<std::string, Value, std::less<>> attrs) {
  Entry e;
  e.isSource = false;
  attrs["__module_name__"] = makeString(name);
  e.value = makeMap(std::move(attrs), true);
  entries_[name] = std::move(e);
}

void ModuleMap::addSourceModule(const std::string& name, std::string source) {
  Entry e;
  e.isSource = true;
  e.source = std::move(source);
  entries_[name] = std::move(e);
}

bool ModuleMap::addStdlib(const std::vector<std::string>& names) {
  bool ok = true;
  for (auto& n : names) {
    std::map<std::string, Value, std::less<>> attrs;
    std::string src;
    if (!stdlibModule(n, &attrs, &src)) {
      ok = false;
      continue;
    }
    if (!src.empty()) addSourceModule(n, src);
    else addBuiltinModule(n, std::move(attrs));
  }
  return ok;
}

std::vector<std::string> ModuleMap::allStdlibNames() {
  return {"base64", "enum", "fmt", "hex", "json", "math", "os", "rand", "text", "times"};
}

void ModuleMap::remove(const std::string& name) { entries_.erase(name); }

const ModuleMap::Entry* ModuleMap::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

Script::Script(std::string source, std::string fileName)
    : source_(std::move(source)), file_(std::move(fileName)) {}

void Script::define(const std::string& name, Value v) {
  for (auto& g : globals_) {
    if (g.first == name) {
      g.second = std::move(v);
      return;
    }
  }
  globals_.emplace_back(name, std::move(v));
}

Status Script::compile(std::unique_ptr<Vm>* out) const {
  auto prog = std::make_shared<detail::Program>();
  CompileInput in;
  in.source = &source_;
  in.fileName = file_;
  in.globals = &globals_;
  in.modules = &modules_;
  in.maxStringLen = limits_.maxStringLen;
  bool parseErr = false;
  std::string err = compileProgram(in, prog.get(), &parseErr);
  if (!err.empty()) {
    Status st;
    st.kind = parseErr ? Status::Kind::kParseError : Status::Kind::kCompileError;
    st.message = err;
    return st;
  }
  std::unique_ptr<Vm> vm(new Vm());
  Vm::Impl& im = *vm->impl();
  im.prog = prog;
  im.limits = limits_;
  im.osHost = osHost_;
  int n = prog->numGlobals;
  if (n < 1) n = 1;
  im.globals.resize(static_cast<size_t>(n));
  for (auto& [name, v] : globals_) {
    auto it = prog->globalIndex.find(name);
    if (it != prog->globalIndex.end()) im.globals[it->second] = v;
  }
  auto* mf = new FuncObj();
  mf->proto = prog->main;
  im.mainFn = Value::object(Type::kFunction, mf);
  *out = std::move(vm);
  return {};
}

Status Script::parseToString(const std::string& source, const std::string& fileName,
                             std::string* ast) {
  SourceFile file;
  file.name = fileName;
  ParseResult pr = parse(source, file);
  if (!pr.error.empty()) return Status{Status::Kind::kParseError, pr.error};
  *ast = fileString(pr.stmts);
  return {};
}

}  // namespace llmspell::tengo
