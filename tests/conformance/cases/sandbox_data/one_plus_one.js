// Imported by sandbox_load_mode.js: code loads from source files in the spell's directory.
export default 1 + 1;
