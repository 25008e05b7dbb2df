--[[
crossref.lua: the few Quarto features the reports use, for plain pandoc (the bridge in
evaluate.report.render when Quarto is not installed). Not a second Quarto:

* figures and tables with ids `fig-...` / `tbl-...` are numbered (HTML: the caption
  starts "Figure 1: "; Typst numbers figures itself) and `@fig-x` / `@tbl-x` become
  "Figure 1" / "Table 1" links (Typst: native references);
* `fig-alt="..."` on an image becomes its alt text;
* `::: {.callout-note}` (also -warning, -tip, -important, -caution), with an optional
  `title="..."`, becomes a styled box (HTML: classes for the CSS the bridge adds;
  Typst: a #block).
Unknown references are shown as "?@id", as Quarto does, and reported on stderr.
]]

local is_typst = FORMAT:match("typst") ~= nil
local names = { fig = "Figure", tbl = "Table" }
local counts = { fig = 0, tbl = 0 }
local numbers = {}

local function kind_of(id)
  if id == nil then return nil end
  local k = id:match("^(%a+)%-")
  if k and names[k] then return k end
  return nil
end

local function number(id)
  local k = kind_of(id)
  if not k then return nil end
  counts[k] = counts[k] + 1
  numbers[id] = { kind = k, n = counts[k] }
  return numbers[id]
end

local function prefix_caption(caption, entry)
  if is_typst or entry == nil then return caption end
  local label = pandoc.Inlines({ pandoc.Str(names[entry.kind] .. "\u{a0}" .. entry.n .. ":"), pandoc.Space() })
  if #caption.long == 0 then
    caption.long = { pandoc.Plain(label) }
  else
    local first = caption.long[1]
    if first.t == "Plain" or first.t == "Para" then
      first.content = label .. first.content
    else
      table.insert(caption.long, 1, pandoc.Plain(label))
    end
  end
  return caption
end

local function typst_string(text)
  return '"' .. text:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", " ") .. '"'
end

-- pandoc's Typst writer drops an image's alt text; write the image ourselves so that the
-- tagged PDF (PDF/UA-1) carries it
local function typst_image(img, alt)
  local args = { typst_string(img.src) }
  local width = img.attributes["width"]
  if width ~= nil and width:match("^[%d.]+%%$") then
    table.insert(args, "width: " .. width)
  elseif width ~= nil and width:match("^[%d.]+in$") then
    table.insert(args, "width: " .. width)
  end
  table.insert(args, "alt: " .. typst_string(alt))
  return pandoc.RawInline("typst", "#box(image(" .. table.concat(args, ", ") .. "))")
end

local function fix_alt(img)
  local alt = img.attributes["fig-alt"]
  if alt == nil and is_typst then
    alt = img.attributes["alt"] or pandoc.utils.stringify(img.caption)
  end
  if alt ~= nil then
    img.attributes["fig-alt"] = nil
    if is_typst then
      return typst_image(img, alt)
    else
      -- the HTML writer takes alt text from the image description
      img.caption = pandoc.Inlines({ pandoc.Str(alt) })
      img.attributes["alt"] = nil
    end
  end
  return img
end

local function number_figure(el)
  local entry = number(el.identifier)
  el.caption = prefix_caption(el.caption, entry)
  el.content = el.content:walk({ Image = fix_alt })
  return el
end

-- Typst gives auto-width columns equal shares, which squeezes text columns; give wide
-- tables column widths proportional to their longest cell (words may still wrap).
local function size_columns(tbl)
  local widths = {}
  local function measure(rows, head)
    for _, row in ipairs(rows) do
      for i, cell in ipairs(row.cells) do
        local longest = 0
        for word in pandoc.utils.stringify(cell.contents):gmatch("%S+") do
          longest = math.max(longest, utf8.len(word) or #word)
        end
        local len = head and 0 or math.min(utf8.len(pandoc.utils.stringify(cell.contents)) or 0, 40)
        widths[i] = math.max(widths[i] or 4, len, longest + 3)
      end
    end
  end
  measure(tbl.head.rows, true)
  for _, body in ipairs(tbl.bodies) do measure(body.body, false) end
  local total = 0
  for _, w in ipairs(widths) do total = total + w end
  if total < 70 or #widths ~= #tbl.colspecs then return tbl end
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1], widths[i] / total }
  end
  return tbl
end

local function number_table(el)
  local entry = number(el.identifier)
  el.caption = prefix_caption(el.caption, entry)
  if is_typst then return size_columns(el) end
  -- HTML: in a box that scrolls sideways when the table is wider than the window (zoom),
  -- which a keyboard user can focus to scroll and which is named by the caption
  local name = pandoc.utils.stringify(el.caption.long)
  if name == "" then name = "Table" end
  -- attributes as an ordered list: a Lua table's keys come out in a different order each run,
  -- and the same inputs must give the same bytes
  return pandoc.Div({ el }, pandoc.Attr("", { "table-scroll" },
    { { "tabindex", "0" }, { "role", "region" }, { "aria-label", name } }))
end

-- A table float written as Quarto writes one: `::: {#tbl-x}` holding the table (here a
-- raw HTML table and a raw Typst table, one for each writer) with the caption as its last
-- paragraph. HTML: the caption becomes the table's <caption>; Typst: a figure of kind table.
local function table_float(el)
  if kind_of(el.identifier) ~= "tbl" then return nil end
  local content = pandoc.Blocks(el.content)
  local caption = pandoc.Inlines({})
  if #content > 0 and content[#content].t == "Para" then
    caption = content[#content].content
    content:remove(#content)
  end
  local entry = number(el.identifier)
  if is_typst then
    local kept = pandoc.Blocks({})
    for _, b in ipairs(content) do
      if not (b.t == "RawBlock" and b.format ~= "typst") then kept:insert(b) end
    end
    local cap = pandoc.write(pandoc.Pandoc({ pandoc.Plain(caption) }), "typst"):gsub("%s+$", "")
    local blocks = pandoc.Blocks({ pandoc.RawBlock("typst",
      "#figure(kind: table, caption: figure.caption(position: top)[" .. cap .. "])[") })
    blocks:extend(kept)
    blocks:insert(pandoc.RawBlock("typst", "] <" .. el.identifier .. ">"))
    return blocks
  end
  local label = names[entry.kind] .. "\u{a0}" .. entry.n .. ": "
  local cap_html = pandoc.write(pandoc.Pandoc({ pandoc.Plain(caption) }), "html"):gsub("%s+$", "")
  local out = pandoc.Blocks({})
  local placed = false
  for _, b in ipairs(content) do
    if b.t == "RawBlock" and b.format == "html" then
      if not placed and b.text:find("<table") then
        local repl = "%1<caption>" .. label:gsub("%%", "%%%%") .. cap_html:gsub("%%", "%%%%") .. "</caption>"
        local text = b.text:gsub("(<table[^>]*>)", repl, 1)
        -- the scrolling box is named after the numbered caption, so that no two share a name
        local name = (label .. pandoc.utils.stringify(caption)):gsub('"', "&quot;"):gsub("%%", "%%%%")
        text = text:gsub('aria%-label="[^"]*"', 'aria-label="' .. name .. '"', 1)
        b = pandoc.RawBlock("html", text)
        placed = true
      end
      out:insert(b)
    elseif b.t ~= "RawBlock" then
      out:insert(b)
    end
  end
  return pandoc.Div(out, { id = el.identifier, class = "table-float" })
end

local function reference(el)
  if #el.citations ~= 1 then return nil end
  local id = el.citations[1].id
  local k = kind_of(id)
  if not k then return nil end
  local entry = numbers[id]
  if entry == nil then
    io.stderr:write("crossref.lua: unknown reference @" .. id .. "\n")
    return pandoc.Strong({ pandoc.Str("?@" .. id) })
  end
  if is_typst then
    return pandoc.RawInline("typst", "@" .. id)
  end
  return pandoc.Link({ pandoc.Str(names[k] .. "\u{a0}" .. entry.n) }, "#" .. id)
end

local callout_colours = {
  note = { "#12436D", "#E7EDF3" },
  tip = { "#28A197", "#E9F6F5" },
  important = { "#801650", "#F5E8EE" },
  warning = { "#F46A25", "#FEF0E9" },
  caution = { "#F46A25", "#FEF0E9" },
}

local function callout(el)
  local kind
  for _, c in ipairs(el.classes) do
    local k = c:match("^callout%-(%a+)$")
    if k and callout_colours[k] then kind = k end
  end
  if kind == nil then return nil end
  local title = el.attributes["title"] or (kind:sub(1, 1):upper() .. kind:sub(2))
  local title_block = pandoc.Para({ pandoc.Strong(pandoc.Inlines(title)) })
  if is_typst then
    local colour = callout_colours[kind]
    local open = string.format(
      '#block(width: 100%%, inset: 8pt, radius: 2pt, fill: rgb("%s"), stroke: (left: 4pt + rgb("%s")))[',
      colour[2], colour[1])
    local blocks = pandoc.Blocks({ pandoc.RawBlock("typst", open), title_block })
    blocks:extend(el.content)
    blocks:insert(pandoc.RawBlock("typst", "]"))
    return blocks
  end
  local head = pandoc.Div({ pandoc.Plain({ pandoc.Strong(pandoc.Inlines(title)) }) }, { class = "callout-title" })
  local body = pandoc.Div(el.content, { class = "callout-body" })
  return pandoc.Div({ head, body }, { class = "callout callout-" .. kind, role = "note" })
end

-- HTML: the body is the page's main landmark (the title block is its banner and the table
-- of contents its navigation), so every part of the page is in a landmark
local function main_landmark(doc)
  if is_typst or not FORMAT:match("html") then return nil end
  doc.blocks:insert(1, pandoc.RawBlock("html", '<main id="main">'))
  doc.blocks:insert(pandoc.RawBlock("html", "</main>"))
  return doc
end

return {
  { Figure = number_figure, Table = number_table, Image = fix_alt, Div = table_float },
  { Cite = reference, Div = callout },
  { Pandoc = main_landmark },
}
