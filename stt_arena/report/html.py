"""A static single-file HTML viewer of trajectories: embedded JSON data and vanilla JS filters."""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any


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


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:flex;height:100vh;color:#222}
#side{width:42%;overflow:auto;border-right:1px solid #ccc;padding:8px}
#detail{flex:1;overflow:auto;padding:12px}
.filters select,.filters input{margin:2px 4px 6px 0}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border-bottom:1px solid #eee;padding:3px 5px;text-align:left}
tr.row{cursor:pointer} tr.row:hover{background:#f3f6ff} tr.sel{background:#dde6ff}
.pass{color:#087a2a;font-weight:600}.fail{color:#b00020;font-weight:600}
.step{border:1px solid #ddd;border-radius:6px;margin:6px 0;padding:6px 8px;font-size:13px}
.step.trigger{border:2px solid #e67e00;background:#fff6e8}
.badge{display:inline-block;background:#e67e00;color:#fff;border-radius:4px;padding:0 5px;margin-left:6px;font-size:12px}
.kind{font-weight:600}.invalid{background:#fdecee}.chat{background:#eef7ff}.final{background:#eefbea}
pre{white-space:pre-wrap;word-break:break-word;margin:3px 0;font-size:12px;background:#fafafa;padding:4px}
.muted{color:#777}
</style></head>
<body>
<div id="side">
<h3 style="margin:4px 0">__TITLE__</h3>
<div class="filters">
<select id="f-model"><option value="">all models</option></select>
<select id="f-type"><option value="">all types</option></select>
<select id="f-level"><option value="">all levels</option></select>
<select id="f-pass"><option value="">pass &amp; fail</option><option value="pass">pass</option><option value="fail">fail</option></select>
<input id="f-text" placeholder="task id contains">
</div>
<div id="count" class="muted"></div>
<table><thead><tr><th>model</th><th>task</th><th>run</th><th>type</th><th>level</th><th>result</th><th>calls</th></tr></thead>
<tbody id="rows"></tbody></table>
</div>
<div id="detail"><p class="muted">Select a trajectory.</p></div>
<script type="application/json" id="data">__DATA__</script>
<script>
(function(){
var DATA = JSON.parse(document.getElementById('data').textContent);
function el(tag, attrs, text){var e=document.createElement(tag);for(var k in (attrs||{}))e.setAttribute(k,attrs[k]);if(text!==undefined&&text!==null)e.textContent=String(text);return e;}
function uniq(key){var s={};DATA.forEach(function(t){s[t[key]]=1});return Object.keys(s).sort();}
function fill(id,key){var sel=document.getElementById(id);uniq(key).forEach(function(v){sel.appendChild(el('option',{value:v},v))});sel.onchange=render;}
fill('f-model','model');fill('f-type','type');fill('f-level','level');
document.getElementById('f-pass').onchange=render;document.getElementById('f-text').oninput=render;
var selected=null;
function visible(){
  var m=document.getElementById('f-model').value,ty=document.getElementById('f-type').value,
      lv=document.getElementById('f-level').value,p=document.getElementById('f-pass').value,
      q=document.getElementById('f-text').value.toLowerCase();
  return DATA.filter(function(t){return (!m||t.model===m)&&(!ty||t.type===ty)&&(!lv||t.level===lv)&&
    (!p||(p==='pass')===t.passed)&&(!q||t.task_id.toLowerCase().indexOf(q)>=0);});
}
function render(){
  var rows=document.getElementById('rows');rows.innerHTML='';var vis=visible();
  document.getElementById('count').textContent=vis.length+' of '+DATA.length+' trajectories shown';
  vis.forEach(function(t){
    var tr=el('tr',{'class':'row'+(t===selected?' sel':''),'data-task':t.task_id});
    [t.model,t.task_id,t.run,t.type,t.level].forEach(function(v){tr.appendChild(el('td',{},v))});
    tr.appendChild(el('td',{'class':t.passed?'pass':'fail'},t.passed?'PASS':'FAIL'));
    tr.appendChild(el('td',{},t.calls));
    tr.onclick=function(){selected=t;render();show(t);};rows.appendChild(tr);
  });
}
function pre(label,text){var d=el('div');if(text===null||text===undefined||text==='')return d;d.appendChild(el('span',{'class':'muted'},label));d.appendChild(el('pre',{},text));return d;}
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
// URL hash presets, e.g. viewer.html#pass=fail&type=T1&open=0 (open: index in the filtered list)
var H={};location.hash.replace(/^#/,'').split('&').forEach(function(kv){if(!kv)return;var p=kv.split('=');H[decodeURIComponent(p[0])]=decodeURIComponent(p[1]||'');});
['model','type','level','pass'].forEach(function(k){if(H[k]!==undefined)document.getElementById('f-'+k).value=H[k];});
if(H.q!==undefined)document.getElementById('f-text').value=H.q;
if(H.open!==undefined){var v=visible()[parseInt(H.open,10)];if(v){selected=v;show(v);}}
render();
})();
</script>
</body></html>
"""


def write_viewer(runs, path: Path, title: str = "STT-Arena trajectories", max_trajectories: int = 2000) -> Path:
    data = []
    for r in runs:
        for rec in r.records:
            data.append(_traj(r.label, rec))
    data = data[:max_trajectories]
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")
    path.write_text(PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", blob), encoding="utf-8")
    return path
