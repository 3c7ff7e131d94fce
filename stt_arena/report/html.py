"""A static HTML viewer of trajectories for any number of runs (10,000+ trajectories).

``viewer.html`` embeds only a compact index (model, task, run, type, level, pass, calls) and opens on a
summary: pass rate per level and per conflict type for each model, with a chart. The trajectory list is
paged; a trajectory's steps are loaded on demand from ``viewer_data/chunk-NNNN.js`` (plain script files,
so the viewer also works from ``file://`` where ``fetch`` is blocked). Nothing is left out.
"""
from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any

CHUNK = 200  # trajectories per data file
PAGE_ROWS = 200  # rows per page of the list


def _clip(v: Any, n: int) -> Any:
    if v is None:
        return None
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return s if len(s) <= n else s[:n] + f" …[{len(s) - n} more chars]"


def _traj(label: str, r: dict) -> dict:
    steps = []
    for s in r.get("steps") or []:
        steps.append({"i": s.get("index"), "kind": s.get("kind"), "tool": s.get("tool"),
                      "args": _clip(s.get("arguments"), 1500), "result": _clip(s.get("result"), 2500),
                      "events": [_clip(e, 1200) for e in s.get("events") or []],
                      "trigger_ids": [e.get("trigger_id") or e.get("flag") or e.get("type") for e in s.get("events") or []],
                      "step": s.get("step"), "content": _clip(s.get("content"), 4000),
                      "user_reply": _clip(s.get("user_reply"), 2000), "error": _clip(s.get("error"), 800),
                      "note": _clip(s.get("note"), 500), "thought": _clip(s.get("thought"), 2000)})
    g = r.get("grade") or {}
    return {"model": label, "task_id": r.get("task_id"), "run": r.get("run"), "type": r.get("conflict_type"),
            "level": r.get("level"), "passed": bool(r.get("passed")), "fraction": r.get("fraction"),
            "termination": r.get("termination"), "calls": r.get("n_tool_calls"),
            "final": _clip(r.get("final_message"), 4000), "items": g.get("items") or [],
            "goal": g.get("infeasible_goal") or [], "judge": g.get("judge"), "graded_by": g.get("graded_by"),
            "steps": steps}


PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:flex;height:100vh;color:#222;min-width:1000px}
#side{width:44%;min-width:560px;overflow:auto;border-right:1px solid #ccc;padding:8px;box-sizing:border-box}
#detail{flex:1;overflow:auto;padding:12px;min-width:420px}
.filters select,.filters input,.filters button{margin:2px 4px 6px 0}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-bottom:1px solid #eee;padding:3px 5px;text-align:left;white-space:nowrap}
td.task{white-space:normal;word-break:break-all}
tr.row{cursor:pointer} tr.row:hover{background:#f3f6ff} tr.sel{background:#dde6ff}
.pass{color:#087a2a;font-weight:600}.fail{color:#b00020;font-weight:600}
.step{border:1px solid #ddd;border-radius:6px;margin:6px 0;padding:6px 8px;font-size:13px}
.step.trigger{border:2px solid #e67e00;background:#fff6e8}
.badge{display:inline-block;background:#e67e00;color:#fff;border-radius:4px;padding:0 5px;margin-left:6px;font-size:12px}
.kind{font-weight:600}.invalid{background:#fdecee}.chat{background:#eef7ff}.final{background:#eefbea}
pre{white-space:pre-wrap;word-break:break-word;margin:3px 0;font-size:12px;background:#fafafa;padding:4px}
.muted{color:#777} .pager{margin:4px 0} table.sum td,table.sum th{text-align:right} table.sum td:first-child,table.sum th:first-child{text-align:left}
</style></head>
<body>
<div id="side">
<h3 style="margin:4px 0">__TITLE__</h3>
<div class="filters">
<button id="b-summary">summary</button>
<select id="f-model"><option value="">all models</option></select>
<select id="f-type"><option value="">all types</option></select>
<select id="f-level"><option value="">all levels</option></select>
<select id="f-pass"><option value="">pass &amp; fail</option><option value="pass">pass</option><option value="fail">fail</option></select>
<input id="f-text" placeholder="task id contains">
</div>
<div id="count" class="muted"></div>
<div class="pager"><button id="p-prev">&lt; prev</button> <span id="page" class="muted"></span> <button id="p-next">next &gt;</button></div>
<table><thead><tr><th>model</th><th>task</th><th>run</th><th>type</th><th>level</th><th>result</th><th>calls</th></tr></thead>
<tbody id="rows"></tbody></table>
</div>
<div id="detail"></div>
<script type="application/json" id="index">__INDEX__</script>
<script>
(function(){
var IX = JSON.parse(document.getElementById('index').textContent);
var MODELS = IX.models, PAGE = IX.page_rows;
// rows: [model, task_id, run, type, level, passed, calls, chunk, pos]
var DATA = IX.rows.map(function(r, k){return {k:k, model:MODELS[r[0]], task_id:r[1], run:r[2], type:r[3], level:r[4],
  passed:!!r[5], calls:r[6], chunk:r[7], pos:r[8]};});
var CHUNKS = {}, WAIT = {};
window.STT_CHUNK = function(n, trajs){CHUNKS[n] = trajs; (WAIT[n] || []).forEach(function(f){f(trajs)}); delete WAIT[n];};
function load(n, cb){
  if (CHUNKS[n]) return cb(CHUNKS[n]);
  if (!WAIT[n]) {WAIT[n] = []; var s = document.createElement('script'); s.src = IX.data_dir + '/chunk-' + ('000' + n).slice(-4) + '.js';
    s.onerror = function(){document.getElementById('detail').textContent = 'could not load ' + s.src;}; document.head.appendChild(s);}
  WAIT[n].push(cb);
}
function el(tag, attrs, text){var e=document.createElement(tag);for(var k in (attrs||{}))e.setAttribute(k,attrs[k]);if(text!==undefined&&text!==null)e.textContent=String(text);return e;}
function uniq(key){var s={};DATA.forEach(function(t){s[t[key]]=1});return Object.keys(s).sort();}
function fill(id,key){var sel=document.getElementById(id);uniq(key).forEach(function(v){sel.appendChild(el('option',{value:v},v))});sel.onchange=function(){page=0;render();};}
fill('f-model','model');fill('f-type','type');fill('f-level','level');
document.getElementById('f-pass').onchange=function(){page=0;render();};
document.getElementById('f-text').oninput=function(){page=0;render();};
document.getElementById('b-summary').onclick=function(){selected=null;render();summary();};
var selected=null, page=0;
document.getElementById('p-prev').onclick=function(){if(page>0){page--;render();}};
document.getElementById('p-next').onclick=function(){page++;render();};
function visible(){
  var m=document.getElementById('f-model').value,ty=document.getElementById('f-type').value,
      lv=document.getElementById('f-level').value,p=document.getElementById('f-pass').value,
      q=document.getElementById('f-text').value.toLowerCase();
  return DATA.filter(function(t){return (!m||t.model===m)&&(!ty||t.type===ty)&&(!lv||t.level===lv)&&
    (!p||(p==='pass')===t.passed)&&(!q||t.task_id.toLowerCase().indexOf(q)>=0);});
}
function render(){
  var rows=document.getElementById('rows');rows.innerHTML='';var vis=visible();
  var pages=Math.max(1,Math.ceil(vis.length/PAGE)); if(page>=pages)page=pages-1;
  document.getElementById('count').textContent=vis.length+' of '+DATA.length+' trajectories shown';
  document.getElementById('page').textContent='page '+(page+1)+' of '+pages+' (rows '+(vis.length?page*PAGE+1:0)+'-'+Math.min(vis.length,(page+1)*PAGE)+')';
  vis.slice(page*PAGE,(page+1)*PAGE).forEach(function(t){
    var tr=el('tr',{'class':'row'+(t===selected?' sel':''),'data-task':t.task_id});
    [t.model,t.task_id,t.run,t.type,t.level].forEach(function(v,i){tr.appendChild(el('td',i===1?{'class':'task'}:{},v))});
    tr.appendChild(el('td',{'class':t.passed?'pass':'fail'},t.passed?'PASS':'FAIL'));
    tr.appendChild(el('td',{},t.calls));
    tr.onclick=function(){selected=t;render();open(t);};rows.appendChild(tr);
  });
}
function rate(list){if(!list.length)return null;return 100*list.filter(function(t){return t.passed}).length/list.length;}
function summary(){
  var d=document.getElementById('detail');d.innerHTML='';
  d.appendChild(el('h3',{id:'summary'},'Summary: '+DATA.length+' trajectories, '+MODELS.length+' model(s)'));
  var levels=['easy','medium','hard','impossible'].filter(function(l){return DATA.some(function(t){return t.level===l})});
  var types=uniq('type');
  [['pass rate per level (%)',levels,'level'],['pass rate per conflict type (%)',types,'type']].forEach(function(spec){
    d.appendChild(el('h4',{},spec[0]));var tb=el('table',{'class':'sum'});var hr=el('tr');hr.appendChild(el('th',{},'model'));
    spec[1].concat(['all']).forEach(function(c){hr.appendChild(el('th',{},c))});tb.appendChild(hr);
    MODELS.forEach(function(m){var tr=el('tr');tr.appendChild(el('td',{},m));var mine=DATA.filter(function(t){return t.model===m});
      spec[1].concat(['all']).forEach(function(c){var sub=c==='all'?mine:mine.filter(function(t){return t[spec[2]]===c});
        var v=rate(sub);tr.appendChild(el('td',{title:sub.length+' episodes'},v===null?'-':v.toFixed(1)));});tb.appendChild(tr);});
    d.appendChild(tb);});
  // grouped bars per level, each bar labelled with its value (a 0% bar is a labelled stub, not missing data)
  var W=Math.max(360,60+levels.length*(MODELS.length*26+24)),H=220,NS='http://www.w3.org/2000/svg';
  var svg=document.createElementNS(NS,'svg');svg.setAttribute('width',W);svg.setAttribute('height',H+60);svg.setAttribute('id','chart');
  var colors=['#4c72b0','#dd8452','#55a868','#c44e52','#8172b3','#937860','#da8bc3','#8c8c8c','#ccb974','#64b5cd'];
  function t(x,y,s,anchor,size){var e=document.createElementNS(NS,'text');e.setAttribute('x',x);e.setAttribute('y',y);e.setAttribute('font-size',size||11);if(anchor)e.setAttribute('text-anchor',anchor);e.textContent=s;svg.appendChild(e);}
  levels.forEach(function(l,i){var x0=40+i*(MODELS.length*26+24);
    MODELS.forEach(function(m,j){var v=rate(DATA.filter(function(q){return q.model===m&&q.level===l}));
      var h=v===null?0:Math.max(2,H*v/100),x=x0+j*26,r=document.createElementNS(NS,'rect');
      r.setAttribute('x',x);r.setAttribute('y',20+H-h);r.setAttribute('width',22);r.setAttribute('height',h);r.setAttribute('fill',colors[j%colors.length]);
      r.setAttribute('class','bar');svg.appendChild(r);t(x+11,16+H-h,v===null?'n/a':v.toFixed(0),'middle',10);});
    t(x0+MODELS.length*13,H+36,l,'middle');});
  MODELS.forEach(function(m,j){var r=document.createElementNS(NS,'rect');r.setAttribute('x',40+j*150);r.setAttribute('y',H+46);r.setAttribute('width',10);r.setAttribute('height',10);r.setAttribute('fill',colors[j%colors.length]);svg.appendChild(r);t(54+j*150,H+55,m.length>22?m.slice(0,21)+'…':m);});
  d.appendChild(el('h4',{},'pass rate per level (%)'));d.appendChild(svg);
  d.appendChild(el('p',{'class':'muted'},'Select a trajectory in the list to see its steps.'));
}
function pre(label,text){var d=el('div');if(text===null||text===undefined||text==='')return d;d.appendChild(el('span',{'class':'muted'},label));d.appendChild(el('pre',{},text));return d;}
function open(row){
  var d=document.getElementById('detail');d.innerHTML='';d.appendChild(el('p',{'class':'muted'},'loading…'));
  load(row.chunk,function(trajs){if(selected===row||!selected)show(trajs[row.pos]);});
}
function show(t){
  var d=document.getElementById('detail');d.innerHTML='';
  d.appendChild(el('h3',{},t.task_id+' (run '+t.run+') - '+t.model));
  d.appendChild(el('div',{'class':t.passed?'pass':'fail','id':'verdict'},(t.passed?'PASS':'FAIL')+' - checklist fraction '+
    (t.fraction===null?'-':Math.round(t.fraction*100)+'%')+' - '+t.type+'/'+t.level+' - ended by '+t.termination+' - graded by '+t.graded_by));
  var ul=el('ul');t.items.concat(t.goal).forEach(function(c){ul.appendChild(el('li',{'class':c.passed?'pass':'fail'},
    (c.passed?'PASS ':'FAIL ')+c.id+(c.description?': '+c.description:'')+(c.error?' ('+c.error+')':'')))});d.appendChild(ul);
  if(t.judge){d.appendChild(pre('judge '+t.judge.judge+': recognized_impossibility='+t.judge.recognized_impossibility+
    ', fed_back_to_user='+t.judge.fed_back_to_user,t.judge.evidence));}
  t.steps.forEach(function(s){
    var trig=s.events&&s.events.length>0;
    var box=el('div',{'class':'step '+(s.kind||'')+(trig?' trigger':'')});
    var head=el('div');head.appendChild(el('span',{'class':'kind'},'#'+s.i+' '+s.kind+(s.tool?': '+s.tool:'')+(s.step!==null&&s.step!==undefined?' (step '+s.step+')':'')));
    if(trig){s.trigger_ids.forEach(function(id){head.appendChild(el('span',{'class':'badge'},'trigger: '+id))});}
    box.appendChild(head);
    box.appendChild(pre('thought',s.thought));box.appendChild(pre('arguments',s.args));box.appendChild(pre('result',s.result));
    box.appendChild(pre('agent said',s.content));box.appendChild(pre('user replied',s.user_reply));
    box.appendChild(pre('error',s.error));box.appendChild(pre('note',s.note));
    (s.events||[]).forEach(function(e){box.appendChild(pre('hidden state change (not shown to the agent)',e))});
    d.appendChild(box);
  });
  if(t.final!==null)d.appendChild(pre('final reply',t.final));
}
// URL hash presets, e.g. viewer.html#pass=fail&type=T1&open=0 (open: index in the filtered list), page=N
var H={};location.hash.replace(/^#/,'').split('&').forEach(function(kv){if(!kv)return;var p=kv.split('=');H[decodeURIComponent(p[0])]=decodeURIComponent(p[1]||'');});
['model','type','level','pass'].forEach(function(k){if(H[k]!==undefined)document.getElementById('f-'+k).value=H[k];});
if(H.q!==undefined)document.getElementById('f-text').value=H.q;
if(H.page!==undefined)page=parseInt(H.page,10)||0;
if(H.open!==undefined){var v=visible()[parseInt(H.open,10)];if(v){selected=v;page=Math.floor(parseInt(H.open,10)/PAGE);open(v);}else summary();}
else summary();
render();
})();
</script>
</body></html>
"""


def write_viewer(runs, path: Path, title: str = "STT-Arena trajectories", max_trajectories: int | None = None) -> Path:
    """``path`` (the index, summary and list) and ``path.parent/<stem>_data/`` (the trajectories, in chunks
    of CHUNK). ``max_trajectories``: keep at most this many (None: all; the viewer says how many)."""
    data_dir = path.parent / f"{path.stem}_data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    models: list[str] = []
    rows: list[list] = []
    chunk: list[dict] = []

    def flush() -> None:  # called right after the chunk's last row
        n = (len(rows) - 1) // CHUNK
        blob = json.dumps(chunk, ensure_ascii=False).replace("</", "<\\/")
        (data_dir / f"chunk-{n:04d}.js").write_text(f"STT_CHUNK({n},{blob});\n", encoding="utf-8")
        chunk.clear()

    for r in runs:
        if r.label not in models:
            models.append(r.label)
        for rec in r.records:
            if max_trajectories is not None and len(rows) >= max_trajectories:
                break
            t = _traj(r.label, rec)
            k = len(rows)
            rows.append([models.index(r.label), t["task_id"], t["run"], t["type"], t["level"], int(t["passed"]),
                         t["calls"], k // CHUNK, k % CHUNK])
            chunk.append(t)
            if len(chunk) == CHUNK:
                flush()
    if chunk:
        flush()
    index = {"models": models, "rows": rows, "page_rows": PAGE_ROWS, "data_dir": data_dir.name}
    blob = json.dumps(index, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")
    path.write_text(PAGE.replace("__TITLE__", html.escape(title)).replace("__INDEX__", blob), encoding="utf-8")
    return path
