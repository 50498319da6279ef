<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>AppContext</name>
    <message>
        <source>wait for the running work to finish (or cancel it) before switching libraries</source>
        <translation>请等待正在进行的任务完成（或取消它）后再切换库</translation>
    </message>
</context>
<context>
    <name>DetailsPane</name>
    <message>
        <source>Other matching moments</source>
        <translation>其他匹配时刻</translation>
    </message>
    <message>
        <source>Double-click to open the file at that moment</source>
        <translation>双击在该时刻打开文件</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <source>Open in the system player or viewer (videos at the hit&apos;s time)</source>
        <translation>用系统播放器或查看器打开（视频跳到命中时间）</translation>
    </message>
    <message>
        <source>Play</source>
        <translation>播放</translation>
    </message>
    <message>
        <source>Play the matching stretch (Space)</source>
        <translation>播放匹配片段（空格）</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>Show the file&apos;s folder</source>
        <translation>显示文件所在文件夹</translation>
    </message>
    <message>
        <source>Search with this</source>
        <translation>以此搜索</translation>
    </message>
    <message>
        <source>Use this result (at its time) as the next query</source>
        <translation>将此结果（在其时间点）作为下一个查询</translation>
    </message>
    <message>
        <source>No result selected</source>
        <translation>未选择结果</translation>
    </message>
    <message>
        <source>Select a result to see its details.</source>
        <translation>选择一个结果以查看详情。</translation>
    </message>
    <message>
        <source>{kind} · rank {rank} · score {score}</source>
        <translation>{kind} · 排名 {rank} · 得分 {score}</translation>
    </message>
    <message>
        <source>encoder {encoder}</source>
        <translation>编码器 {encoder}</translation>
    </message>
    <message>
        <source>at {time}</source>
        <translation>位于 {time}</translation>
    </message>
    <message>
        <source>found by {encoders}</source>
        <translation>由 {encoders} 找到</translation>
    </message>
    <message>
        <source>&lt;i&gt;not judged yet&lt;/i&gt; — 2 / 1 / 0</source>
        <translation>&lt;i&gt;尚未评分&lt;/i&gt; — 2 / 1 / 0</translation>
    </message>
    <message>
        <source>score {score}</source>
        <translation>得分 {score}</translation>
    </message>
</context>
<context>
    <name>DropZone</name>
    <message>
        <source>Drop an image, audio or video file here, or click to choose one (Ctrl+O)</source>
        <translation>将图片、音频或视频文件拖放到这里，或点击选择（Ctrl+O）</translation>
    </message>
    <message>
        <source>Clear the example file</source>
        <translation>清除示例文件</translation>
    </message>
    <message>
        <source>Drop an image, audio or video file here

or click to choose</source>
        <translation>将图片、音频或视频文件拖放到这里

或点击选择</translation>
    </message>
    <message>
        <source>Search by example</source>
        <translation>以示例搜索</translation>
    </message>
</context>
<context>
    <name>EvalView</name>
    <message>
        <source>mixed</source>
        <translation>混合</translation>
    </message>
    <message>
        <source>{query} queries</source>
        <translation>{query}查询</translation>
    </message>
    <message>
        <source>{query} queries → {media}</source>
        <translation>{query}查询 → {media}</translation>
    </message>
    <message>
        <source>search latency</source>
        <translation>搜索延迟</translation>
    </message>
    <message>
        <source>metrics</source>
        <translation>指标</translation>
    </message>
    <message>
        <source>precision-recall</source>
        <translation>精确率-召回率</translation>
    </message>
    <message>
        <source>{group}: quality vs indexing speed</source>
        <translation>{group}：质量与索引速度</translation>
    </message>
    <message>
        <source>{group}: latency under load</source>
        <translation>{group}：负载下的延迟</translation>
    </message>
    <message>
        <source>Evaluation</source>
        <translation>相关性评估</translation>
    </message>
    <message>
        <source>Saved queries</source>
        <translation>已保存的查询</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Delete the selected saved queries and their judgements</source>
        <translation>删除选中的已保存查询及其评分</translation>
    </message>
    <message>
        <source>Queries are saved when you first grade a result on the Search page.</source>
        <translation>在“搜索”页首次为结果评分时，查询即被保存。</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Cut-offs k</source>
        <translation>截断值 k</translation>
    </message>
    <message>
        <source>Comma-separated cut-offs for P@k, R@k, NDCG@k</source>
        <translation>P@k、R@k、NDCG@k 的截断值，用逗号分隔</translation>
    </message>
    <message>
        <source>Search depth</source>
        <translation>搜索深度</translation>
    </message>
    <message>
        <source>Results fetched per search: AP, R-precision and recall see this many</source>
        <translation>每次搜索获取的结果数：AP、R-精确率和召回率基于这些结果计算</translation>
    </message>
    <message>
        <source>Latency timing</source>
        <translation>延迟计时</translation>
    </message>
    <message>
        <source>Seconds of repeated searches per encoder for the latency figures (more: steadier)</source>
        <translation>每个编码器重复搜索以测量延迟的秒数（越长越稳定）</translation>
    </message>
    <message>
        <source>Run evaluation</source>
        <translation>运行评估</translation>
    </message>
    <message>
        <source>Search every saved query with every applicable encoder and score them (Ctrl+R)</source>
        <translation>用每个适用的编码器搜索每个已保存的查询并计算指标（Ctrl+R）</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>空闲</translation>
    </message>
    <message>
        <source>HTML report…</source>
        <translation>HTML 报告…</translation>
    </message>
    <message>
        <source>Export the evaluation as {format}</source>
        <translation>将评估导出为 {format}</translation>
    </message>
    <message>
        <source>Queries</source>
        <translation>查询</translation>
    </message>
    <message>
        <source>best in column. Unjudged results count as not relevant (see judged@k).</source>
        <translation>该列最佳。未评分的结果按不相关计（见 judged@k）。</translation>
    </message>
    <message>
        <source>Comparison</source>
        <translation>比较</translation>
    </message>
    <message>
        <source>Speed</source>
        <translation>速度</translation>
    </message>
    <message>
        <source>Charts</source>
        <translation>图表</translation>
    </message>
    <message>
        <source>Model selection</source>
        <translation>模型选择</translation>
    </message>
    <message>
        <source>Query / encoder / missed file</source>
        <translation>查询 / 编码器 / 遗漏的文件</translation>
    </message>
    <message>
        <source>Grade</source>
        <translation>评分</translation>
    </message>
    <message>
        <source>Rank</source>
        <translation>排名</translation>
    </message>
    <message>
        <source>Per-query misses</source>
        <translation>各查询的遗漏</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>说明</translation>
    </message>
    <message>
        <source>no limit</source>
        <translation>不限</translation>
    </message>
    <message>
        <source>Rule out encoders that would take longer to index this library&apos;s files (0: no limit)</source>
        <translation>排除为本库文件建立索引耗时超过此值的编码器（0：不限）</translation>
    </message>
    <message>
        <source>Rule out encoders whose p95 search latency under load is higher (0: no limit)</source>
        <translation>排除负载下 p95 搜索延迟高于此值的编码器（0：不限）</translation>
    </message>
    <message>
        <source>Rule out encoders whose peak memory, indexing or under load, is higher (0: no limit)</source>
        <translation>排除峰值内存（索引时或负载下）高于此值的编码器（0：不限）</translation>
    </message>
    <message>
        <source>Latency is read at the highest measured number of concurrent searches up to this</source>
        <translation>延迟取不超过此数的已测最高并发搜索数下的数值</translation>
    </message>
    <message>
        <source>Max index time</source>
        <translation>最长索引时间</translation>
    </message>
    <message>
        <source>Max p95 latency</source>
        <translation>最高 p95 延迟</translation>
    </message>
    <message>
        <source>Max memory</source>
        <translation>最大内存</translation>
    </message>
    <message>
        <source>Concurrent searches</source>
        <translation>并发搜索数</translation>
    </message>
    <message>
        <source>Media type</source>
        <translation>媒体类型</translation>
    </message>
    <message>
        <source>◆ on the Pareto front (no other encoder has both a higher MAP and faster indexing). A limit whose figure was not measured rules nothing out.</source>
        <translation>◆ 位于帕累托前沿（没有其他编码器同时具有更高的 MAP 和更快的索引速度）。未测量数值的限制不排除任何编码器。</translation>
    </message>
    <message>
        <source>indexing takes {value} h (limit {limit} h)</source>
        <translation>索引需 {value} 小时（限制 {limit} 小时）</translation>
    </message>
    <message>
        <source>p95 {value} ms with {n} concurrent searches (limit {limit} ms)</source>
        <translation>{n} 个并发搜索时 p95 为 {value} ms（限制 {limit} ms）</translation>
    </message>
    <message>
        <source>peak memory {value} GB (limit {limit} GB)</source>
        <translation>峰值内存 {value} GB（限制 {limit} GB）</translation>
    </message>
    <message>
        <source>indexing speed not measured</source>
        <translation>未测量索引速度</translation>
    </message>
    <message>
        <source>latency under load not measured (run mediasearch loadtest)</source>
        <translation>未测量负载下的延迟（请运行 mediasearch loadtest）</translation>
    </message>
    <message>
        <source>peak memory not measured</source>
        <translation>未测量峰值内存</translation>
    </message>
    <message>
        <source>Recommended for {group}: &lt;b&gt;{encoder}&lt;/b&gt; (MAP {map})</source>
        <translation>{group} 推荐：&lt;b&gt;{encoder}&lt;/b&gt;（MAP {map}）</translation>
    </message>
    <message>
        <source>Also within the limits: {encoders}</source>
        <translation>同样满足限制：{encoders}</translation>
    </message>
    <message>
        <source>No encoder fits every limit. Closest: &lt;b&gt;{encoder}&lt;/b&gt; ({reasons}); relax that limit.</source>
        <translation>没有编码器满足所有限制。最接近的是 &lt;b&gt;{encoder}&lt;/b&gt;（{reasons}），请放宽该限制。</translation>
    </message>
    <message>
        <source>{encoder} ruled out: {reasons}</source>
        <translation>{encoder} 被排除：{reasons}</translation>
    </message>
    <message>
        <source>{encoder}: {what}</source>
        <translation>{encoder}：{what}</translation>
    </message>
    <message>
        <source>Published figures: fewer than two encoders here were measured on the same benchmark.</source>
        <translation>公开数据：这里在同一基准上测得的编码器不足两个，无法比较。</translation>
    </message>
    <message>
        <source>Published figures ({metric}) rank them as this library does.</source>
        <translation>公开数据（{metric}）的排名与本库上的排名一致。</translation>
    </message>
    <message>
        <source>⚠ Published figures ({metric}) rank {a} above {b}, but on this library {b} has the higher MAP ({mb} vs {ma}{sig}).</source>
        <translation>⚠ 公开数据（{metric}）中 {a} 排在 {b} 之前，但在本库上 {b} 的 MAP 更高（{mb} 对 {ma}{sig}）。</translation>
    </message>
    <message>
        <source>, significant</source>
        <translation>，差异显著</translation>
    </message>
    <message>
        <source>, not significant</source>
        <translation>，差异不显著</translation>
    </message>
    <message>
        <source>Latency under load: not measured — run &lt;code&gt;mediasearch loadtest&lt;/code&gt;.</source>
        <translation>负载下的延迟：未测量——请运行 &lt;code&gt;mediasearch loadtest&lt;/code&gt;。</translation>
    </message>
    <message>
        <source>No media type has scored queries yet.</source>
        <translation>还没有任何媒体类型有已评分的查询。</translation>
    </message>
    <message>
        <source>95% bootstrap interval over the queries</source>
        <translation>基于查询的 95% 自助法置信区间</translation>
    </message>
    <message>
        <source>not measured</source>
        <translation>未测量</translation>
    </message>
    <message>
        <source>{n} concurrent searches, {mode}</source>
        <translation>{n} 个并发搜索，{mode}</translation>
    </message>
    <message>
        <source>self-hosted</source>
        <translation>本地运行</translation>
    </message>
    <message>
        <source>API</source>
        <translation>远程 API</translation>
    </message>
    <message>
        <source>files/s</source>
        <translation>文件/秒</translation>
    </message>
    <message>
        <source>hours to index</source>
        <translation>索引所需小时</translation>
    </message>
    <message>
        <source>p95 ms under load</source>
        <translation>负载下 p95（ms）</translation>
    </message>
    <message>
        <source>peak memory GB</source>
        <translation>峰值内存（GB）</translation>
    </message>
    <message>
        <source>index size</source>
        <translation>索引大小</translation>
    </message>
    <message>
        <source>weights</source>
        <translation>权重</translation>
    </message>
    <message>
        <source>Licence</source>
        <translation>许可证</translation>
    </message>
    <message>
        <source>Hosting</source>
        <translation>运行方式</translation>
    </message>
    <message>
        <source>Published figure</source>
        <translation>公开数据</translation>
    </message>
    <message>
        <source>mean average precision over the group&apos;s queries</source>
        <translation>该组查询上的平均精度均值</translation>
    </message>
    <message>
        <source>files indexed per second on this machine</source>
        <translation>本机每秒索引的文件数</translation>
    </message>
    <message>
        <source>hours to index the files of this library it covers</source>
        <translation>为本库中它所覆盖的文件建立索引所需的小时数</translation>
    </message>
    <message>
        <source>indexing or under load, the higher</source>
        <translation>取索引时与负载下的较高者</translation>
    </message>
    <message>
        <source>vectors and search graph on disk</source>
        <translation>磁盘上的向量和搜索图</translation>
    </message>
    <message>
        <source>model files</source>
        <translation>模型文件</translation>
    </message>
    <message>
        <source>as published, with its source</source>
        <translation>公开发表的数值及其来源</translation>
    </message>
    <message>
        <source>Latency under load: not measured — run mediasearch loadtest, then evaluate again.</source>
        <translation>负载下的延迟：未测量——请运行 mediasearch loadtest，然后重新评估。</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Query</source>
        <translation>查询</translation>
    </message>
    <message>
        <source>Judged</source>
        <translation>已评分</translation>
    </message>
    <message>
        <source>Relevant</source>
        <translation>相关</translation>
    </message>
    <message>
        <source>{queries} saved queries · {judged} judged files</source>
        <translation>{queries} 个已保存查询 · {judged} 个已评分文件</translation>
    </message>
    <message>
        <source>Select saved queries to remove first</source>
        <translation>请先选择要移除的已保存查询</translation>
    </message>
    <message>
        <source>Remove saved queries</source>
        <translation>移除已保存的查询</translation>
    </message>
    <message>
        <source>Delete {names} and their judgements?</source>
        <translation>删除 {names} 及其评分？</translation>
    </message>
    <message>
        <source>cut-offs must be whole numbers separated by commas, got {text}</source>
        <translation>截断值必须是用逗号分隔的整数，实际为 {text}</translation>
    </message>
    <message>
        <source>give at least one cut-off k</source>
        <translation>请至少给出一个截断值 k</translation>
    </message>
    <message>
        <source>Evaluating</source>
        <translation>正在评估</translation>
    </message>
    <message>
        <source>starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <source>Loading encoders…</source>
        <translation>正在加载编码器…</translation>
    </message>
    <message>
        <source>{done} / {total} queries</source>
        <translation>{done} / {total} 个查询</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>Evaluated in {seconds} s</source>
        <translation>评估用时 {seconds} 秒</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>{group} ({n} queries)</source>
        <translation>{group}（{n} 个查询）</translation>
    </message>
    <message>
        <source>Encoder</source>
        <translation>编码器</translation>
    </message>
    <message>
        <source>images and video frames</source>
        <translation>图片和视频帧</translation>
    </message>
    <message>
        <source>sounds</source>
        <translation>声音</translation>
    </message>
    <message>
        <source>transcripts</source>
        <translation>转写文本</translation>
    </message>
    <message>
        <source>all queries</source>
        <translation>全部查询</translation>
    </message>
    <message>
        <source>{group} (synthetic)</source>
        <translation>{group}（合成）</translation>
    </message>
    <message>
        <source>Encoders are compared per media type (the queries&apos; type, and what the encoder searches), only over the queries every one of them answered</source>
        <translation>编码器按媒体类型分组比较（查询的类型，以及编码器搜索的内容），只比较每个编码器都回答了的查询</translation>
    </message>
    <message>
        <source>no relevant file judged yet: this query scores 0</source>
        <translation>尚无评为相关的文件：此查询得分为 0</translation>
    </message>
    <message>
        <source>No saved query has a judgement yet: grade some results first.</source>
        <translation>还没有任何已保存查询含有评分：请先为一些结果评分。</translation>
    </message>
    <message>
        <source>How to read this</source>
        <translation>如何解读</translation>
    </message>
    <message>
        <source>Left out</source>
        <translation>未纳入</translation>
    </message>
    <message>
        <source>Machine</source>
        <translation>机器</translation>
    </message>
    <message>
        <source>Significance: {test}</source>
        <translation>显著性检验：{test}</translation>
    </message>
    <message>
        <source>best {metric} in this group</source>
        <translation>本组 {metric} 最佳</translation>
    </message>
    <message>
        <source>Only &lt;b&gt;{encoder}&lt;/b&gt; answered {group}: MAP {value} over {n} queries</source>
        <translation>只有 &lt;b&gt;{encoder}&lt;/b&gt; 回答了“{group}”：{n} 个查询的 MAP 为 {value}</translation>
    </message>
    <message>
        <source> and </source>
        <translation> 和 </translation>
    </message>
    <message>
        <source> (tied)</source>
        <translation>（并列）</translation>
    </message>
    <message>
        <source>Best on {group}: &lt;b&gt;{who}&lt;/b&gt;{tie} — MAP {value} over {n} queries</source>
        <translation>在“{group}”中最佳：&lt;b&gt;{who}&lt;/b&gt;{tie} — {n} 个查询的 MAP 为 {value}</translation>
    </message>
    <message>
        <source>Encoders: {encoders}. Ranked over {n} queries that every one of them answered.</source>
        <translation>编码器：{encoders}。按它们都回答了的 {n} 个查询排名。</translation>
    </message>
    <message>
        <source>Left out (not answered by every encoder): {queries}.</source>
        <translation>未计入（并非每个编码器都回答了）：{queries}。</translation>
    </message>
    <message>
        <source>The encoder</source>
        <translation>编码器</translation>
    </message>
    <message>
        <source>judged@k: share of the top k that was judged</source>
        <translation>judged@k：前 k 个结果中已评分的比例</translation>
    </message>
    <message>
        <source>mean {metric} over the group&apos;s queries</source>
        <translation>本组查询的平均 {metric}</translation>
    </message>
    <message>
        <source>the score that best separates relevant from not relevant results (max F1 over judged results)</source>
        <translation>最能区分相关与不相关结果的分数（已评分结果上 F1 最高）</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>阈值</translation>
    </message>
    <message>
        <source>searches/s</source>
        <translation>搜索次数/秒</translation>
    </message>
    <message>
        <source>timed</source>
        <translation>计时次数</translation>
    </message>
    <message>
        <source>indexing files/s</source>
        <translation>索引文件数/秒</translation>
    </message>
    <message>
        <source>media s/s</source>
        <translation>媒体秒数/秒</translation>
    </message>
    <message>
        <source>median search latency</source>
        <translation>搜索延迟中位数</translation>
    </message>
    <message>
        <source>95th percentile</source>
        <translation>第 95 百分位</translation>
    </message>
    <message>
        <source>99th percentile</source>
        <translation>第 99 百分位</translation>
    </message>
    <message>
        <source>sequential searches per second</source>
        <translation>每秒顺序搜索次数</translation>
    </message>
    <message>
        <source>timed searches</source>
        <translation>计时的搜索次数</translation>
    </message>
    <message>
        <source>files indexed per second (all runs)</source>
        <translation>每秒索引的文件数（所有运行）</translation>
    </message>
    <message>
        <source>seconds of audio/video indexed per second</source>
        <translation>每秒索引的音频/视频秒数</translation>
    </message>
    <message>
        <source>No charts: nothing could be scored yet.</source>
        <translation>没有图表：尚无可计算指标的内容。</translation>
    </message>
    <message>
        <source>{encoder}: {n} relevant files not in the top {k}</source>
        <translation>{encoder}：{n} 个相关文件不在前 {k} 名内</translation>
    </message>
    <message>
        <source>beyond depth</source>
        <translation>超出深度</translation>
    </message>
    <message>
        <source>{n} misses</source>
        <translation>{n} 个遗漏</translation>
    </message>
    <message>
        <source>Export {format}</source>
        <translation>导出 {format}</translation>
    </message>
    <message>
        <source>Run the evaluation first.</source>
        <translation>请先运行评估。</translation>
    </message>
    <message>
        <source>Exporting</source>
        <translation>正在导出</translation>
    </message>
    <message>
        <source>Wrote {path}</source>
        <translation>已写入 {path}</translation>
    </message>
</context>
<context>
    <name>LibraryPanel</name>
    <message>
        <source>Images and video frames</source>
        <translation>图片和视频帧</translation>
    </message>
    <message>
        <source>Encoders that embed still images and sampled video frames</source>
        <translation>为静态图片和抽样视频帧生成向量的编码器</translation>
    </message>
    <message>
        <source>Audio and soundtracks</source>
        <translation>音频和音轨</translation>
    </message>
    <message>
        <source>Encoders that embed windows of audio files and of videos&apos; soundtracks</source>
        <translation>为音频文件和视频音轨的时间窗生成向量的编码器</translation>
    </message>
    <message>
        <source>Speech (transcripts)</source>
        <translation>语音（转写文本）</translation>
    </message>
    <message>
        <source>Speech recognisers: transcripts of audio and video, searchable by text</source>
        <translation>语音识别器：音频和视频的转写文本，可用文本搜索</translation>
    </message>
    <message>
        <source>Library</source>
        <extracomment>encoders ticked the first time a library is opened (weight-free, like the CLI&apos;s default) seconds of quiet after a change on disk before the watcher re-indexes directories watched at most (QFileSystemWatcher uses one inotify watch each)</extracomment>
        <translation>库</translation>
    </message>
    <message>
        <source>Folders</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>The folders this library indexes. Drop folders here to add them.</source>
        <translation>此库索引的文件夹。将文件夹拖放到这里即可添加。</translation>
    </message>
    <message>
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <source>Add a folder to index (Ctrl+Shift+O); you can also drop folders on this page</source>
        <translation>添加要索引的文件夹（Ctrl+Shift+O）；也可以把文件夹拖放到此页</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Take the selected folders out of the library (their files leave the index)</source>
        <translation>将选中的文件夹移出库（其中的文件将从索引中移除）</translation>
    </message>
    <message>
        <source>Watch folders and re-index on changes</source>
        <translation>监视文件夹，变化时重新索引</translation>
    </message>
    <message>
        <source>Re-index automatically a few seconds after files are added, changed or deleted</source>
        <translation>文件添加、修改或删除几秒后自动重新索引</translation>
    </message>
    <message>
        <source>Drop folders here. Only new and changed files are processed on each run.</source>
        <translation>将文件夹拖放到这里。每次运行只处理新增和修改过的文件。</translation>
    </message>
    <message>
        <source>Encoders per media type</source>
        <translation>各媒体类型的编码器</translation>
    </message>
    <message>
        <source>Encoder</source>
        <translation>编码器</translation>
    </message>
    <message>
        <source>Weights</source>
        <translation>权重</translation>
    </message>
    <message>
        <source>About</source>
        <translation>说明</translation>
    </message>
    <message>
        <source>Encoders whose weights are missing can be installed on the Models page.</source>
        <translation>缺少权重的编码器可在“模型”页安装。</translation>
    </message>
    <message>
        <source>Indexing</source>
        <translation>索引</translation>
    </message>
    <message>
        <source>Index now</source>
        <translation>立即索引</translation>
    </message>
    <message>
        <source>Index new and changed files in every folder (F5)</source>
        <translation>索引所有文件夹中新增和修改过的文件（F5）</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Stop after the current file; what is done is kept and the next run resumes (Esc)</source>
        <translation>处理完当前文件后停止；已完成的部分会保留，下次运行继续（Esc）</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>空闲</translation>
    </message>
    <message>
        <source>Ready.</source>
        <translation>就绪。</translation>
    </message>
    <message>
        <source>Skipped files</source>
        <translation>跳过的文件</translation>
    </message>
    <message>
        <source>Files that could not be indexed, and why</source>
        <translation>无法索引的文件及原因</translation>
    </message>
    <message>
        <source>This folder does not exist (any more); its files leave the index on the next run</source>
        <translation>此文件夹（已）不存在；下次运行时其文件将从索引中移除</translation>
    </message>
    <message>
        <source>{path} is already in the library</source>
        <translation>{path} 已在库中</translation>
    </message>
    <message>
        <source>Added {names}; press Index now (F5) to index</source>
        <translation>已添加 {names}；按“立即索引”（F5）开始索引</translation>
    </message>
    <message>
        <source>Add a folder to the library</source>
        <translation>向库中添加文件夹</translation>
    </message>
    <message>
        <source>Select the folders to remove first</source>
        <translation>请先选择要移除的文件夹</translation>
    </message>
    <message>
        <source>Remove folders</source>
        <translation>移除文件夹</translation>
    </message>
    <message>
        <source>Take these folders out of the library?

{folders}

Their files leave the index (the files themselves are not touched; judgements are kept).</source>
        <translation>将这些文件夹移出库？

{folders}

其中的文件将从索引中移除（文件本身不会被改动；评分会保留）。</translation>
    </message>
    <message>
        <source>Wait for indexing to finish (or cancel it) before removing folders.</source>
        <translation>请等索引完成（或取消索引）后再移除文件夹。</translation>
    </message>
    <message>
        <source>Removed {n} files from the index</source>
        <translation>已从索引中移除 {n} 个文件</translation>
    </message>
    <message>
        <source>built in</source>
        <translation>内置</translation>
    </message>
    <message>
        <source>present</source>
        <translation>已安装</translation>
    </message>
    <message>
        <source>missing</source>
        <translation>缺失</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>未安装</translation>
    </message>
    <message>
        <source>queries: {kinds} · {dim}-d · {licence}</source>
        <translation>查询：{kinds} · {dim} 维 · {licence}</translation>
    </message>
    <message>
        <source>its code is not part of this install</source>
        <translation>此安装不包含它的代码</translation>
    </message>
    <message>
        <source>weights missing: pull or import {models} on the Models page</source>
        <translation>缺少权重：请在“模型”页下载或导入 {models}</translation>
    </message>
    <message>
        <source>Add a folder to the library first (Add folder…, or drop one on the Library page).</source>
        <translation>请先向库中添加文件夹（“添加文件夹…”，或拖放到“库”页）。</translation>
    </message>
    <message>
        <source>Tick at least one encoder to index with.</source>
        <translation>请至少勾选一个用于索引的编码器。</translation>
    </message>
    <message>
        <source>starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <source>Loading {encoders}…</source>
        <translation>正在加载 {encoders}…</translation>
    </message>
    <message>
        <source>Cancelling after the current file…</source>
        <translation>处理完当前文件后取消…</translation>
    </message>
    <message>
        <source>Indexing · {progress}</source>
        <translation>正在索引 · {progress}</translation>
    </message>
    <message>
        <source>Cancelled. What was indexed is kept; press Index now to resume.</source>
        <translation>已取消。已索引的内容会保留；按“立即索引”继续。</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>Done in {seconds} s.</source>
        <translation>完成，用时 {seconds} 秒。</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>{scanned} files scanned: {new} new, {changed} changed, {moved} moved, {removed} removed, {unchanged} unchanged, {skipped} skipped.</source>
        <translation>已扫描 {scanned} 个文件：新增 {new}，修改 {changed}，移动 {moved}，移除 {removed}，未变 {unchanged}，跳过 {skipped}。</translation>
    </message>
    <message>
        <source>{rate} files/s</source>
        <translation>{rate} 个文件/秒</translation>
    </message>
    <message>
        <source>{encoder}: {files} files, {segments} segments</source>
        <translation>{encoder}：{files} 个文件，{segments} 个片段</translation>
    </message>
    <message>
        <source>Indexing cancelled</source>
        <translation>索引已取消</translation>
    </message>
    <message>
        <source>Indexed · {summary}</source>
        <translation>已索引 · {summary}</translation>
    </message>
    <message>
        <source>Indexing failed.</source>
        <translation>索引失败。</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>Skipped files ({n})</source>
        <translation>跳过的文件（{n}）</translation>
    </message>
    <message>
        <source>Skipped files (none)</source>
        <translation>跳过的文件（无）</translation>
    </message>
    <message>
        <source>Files changed on disk: re-indexing</source>
        <translation>磁盘上的文件有变化：正在重新索引</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <source>Library</source>
        <translation>库</translation>
    </message>
    <message>
        <source>Evaluation</source>
        <translation>相关性评估</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>type a text query</source>
        <translation>输入文本查询</translation>
    </message>
    <message>
        <source>choose an example file</source>
        <translation>选择示例文件</translation>
    </message>
    <message>
        <source>search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <source>grade the selected result highly relevant / relevant / not relevant</source>
        <translation>将选中的结果评为高度相关 / 相关 / 不相关</translation>
    </message>
    <message>
        <source>forget the selected result&apos;s grade</source>
        <translation>清除选中结果的评分</translation>
    </message>
    <message>
        <source>move between results</source>
        <translation>在结果之间移动</translation>
    </message>
    <message>
        <source>open the result (videos at the hit&apos;s time); double-click does the same</source>
        <translation>打开结果（视频跳到命中时间）；双击效果相同</translation>
    </message>
    <message>
        <source>play a sound result</source>
        <translation>播放声音结果</translation>
    </message>
    <message>
        <source>index now / cancel indexing</source>
        <translation>立即索引 / 取消索引</translation>
    </message>
    <message>
        <source>add a folder to the library</source>
        <translation>向库中添加文件夹</translation>
    </message>
    <message>
        <source>open another library</source>
        <translation>打开另一个库</translation>
    </message>
    <message>
        <source>run the evaluation / export its HTML report</source>
        <translation>运行评估 / 导出 HTML 报告</translation>
    </message>
    <message>
        <source>switch pages</source>
        <translation>切换页面</translation>
    </message>
    <message>
        <source>dark / light palette</source>
        <translation>深色 / 浅色配色</translation>
    </message>
    <message>
        <source>quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>{page} (Ctrl+{n})</source>
        <extracomment>how long quitting waits for running work to notice its cancel token worker threads still running when the window closed (main() then exits at once)</extracomment>
        <translation>{page}（Ctrl+{n}）</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Open &amp;library…</source>
        <translation>打开库(&amp;L)…</translation>
    </message>
    <message>
        <source>Open or create a library folder</source>
        <translation>打开或新建库文件夹</translation>
    </message>
    <message>
        <source>Recent libraries</source>
        <translation>最近使用的库</translation>
    </message>
    <message>
        <source>&amp;Add folder…</source>
        <translation>添加文件夹(&amp;A)…</translation>
    </message>
    <message>
        <source>Add a folder to index</source>
        <translation>添加要索引的文件夹</translation>
    </message>
    <message>
        <source>&amp;Index now</source>
        <translation>立即索引(&amp;I)</translation>
    </message>
    <message>
        <source>Index new and changed files (F5)</source>
        <translation>索引新增和修改过的文件（F5）</translation>
    </message>
    <message>
        <source>&amp;Cancel indexing</source>
        <translation>取消索引(&amp;C)</translation>
    </message>
    <message>
        <source>Stop indexing; what is done is kept</source>
        <translation>停止索引；已完成的部分会保留</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Search</source>
        <translation>搜索(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Text query</source>
        <translation>文本查询(&amp;T)</translation>
    </message>
    <message>
        <source>Type a text query</source>
        <translation>输入文本查询</translation>
    </message>
    <message>
        <source>&amp;Example file…</source>
        <translation>示例文件(&amp;E)…</translation>
    </message>
    <message>
        <source>Search by an example image, audio or video file</source>
        <translation>以示例图片、音频或视频文件搜索</translation>
    </message>
    <message>
        <source>Mark &amp;highly relevant</source>
        <translation>评为高度相关(&amp;H)</translation>
    </message>
    <message>
        <source>Mark &amp;relevant</source>
        <translation>评为相关(&amp;R)</translation>
    </message>
    <message>
        <source>Mark &amp;not relevant</source>
        <translation>评为不相关(&amp;N)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Dark palette</source>
        <translation>深色配色(&amp;D)</translation>
    </message>
    <message>
        <source>&amp;Full screen</source>
        <translation>全屏(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>&amp;Evaluate</source>
        <translation>评估(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Run evaluation</source>
        <translation>运行评估(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Export HTML report…</source>
        <translation>导出 HTML 报告(&amp;E)…</translation>
    </message>
    <message>
        <source>Export &amp;CSV…</source>
        <translation>导出 CSV(&amp;C)…</translation>
    </message>
    <message>
        <source>Export &amp;JSON…</source>
        <translation>导出 JSON(&amp;J)…</translation>
    </message>
    <message>
        <source>Rater &amp;name…</source>
        <translation>评审人姓名(&amp;N)…</translation>
    </message>
    <message>
        <source>Who is judging: judgements carry this name, so several people can grade the same results</source>
        <translation>谁在评判:评判会记录这个名字,因此多人可以为同一批结果打分</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;Keyboard shortcuts</source>
        <translation>快捷键(&amp;K)</translation>
    </message>
    <message>
        <source>&amp;About mediasearch</source>
        <translation>关于 mediasearch(&amp;A)</translation>
    </message>
    <message>
        <source>Rater name</source>
        <translation>评审人姓名</translation>
    </message>
    <message>
        <source>Judge as (empty: your user name). Each rater&apos;s grades are kept apart; the report says how far raters agree.</source>
        <translation>以此身份评判(留空:使用你的用户名)。每位评审人的评分分开保存;报告会说明评审人之间的一致程度。</translation>
    </message>
    <message>
        <source>Judging as {name}</source>
        <translation>当前评审人:{name}</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>The language changes the next time mediasearch starts.</source>
        <translation>界面语言将在下次启动 mediasearch 时生效。</translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>快捷键</translation>
    </message>
    <message>
        <source>(source tree)</source>
        <translation>（源码目录）</translation>
    </message>
    <message>
        <source>Local-first search over your own images, videos and audio, and evaluation of which encoder works best on them.</source>
        <translation>在本地搜索你自己的图片、视频和音频，并评估哪个编码器在这些数据上效果最好。</translation>
    </message>
    <message>
        <source>Library: {library}&lt;br&gt;Models: {models}</source>
        <translation>库：{library}&lt;br&gt;模型：{models}</translation>
    </message>
    <message>
        <source>About mediasearch</source>
        <translation>关于 mediasearch</translation>
    </message>
</context>
<context>
    <name>ModelsView</name>
    <message>
        <source>ok</source>
        <extracomment>sizes are shown as the CLI prints them (decimal units)</extracomment>
        <translation>正常</translation>
    </message>
    <message>
        <source>unverified</source>
        <translation>未校验</translation>
    </message>
    <message>
        <source>missing</source>
        <translation>缺失</translation>
    </message>
    <message>
        <source>partly downloaded</source>
        <translation>部分下载</translation>
    </message>
    <message>
        <source>wrong size</source>
        <translation>大小不符</translation>
    </message>
    <message>
        <source>checksum differs</source>
        <translation>校验和不符</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Pull</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Download the selected model from its official source (or the mirror) and verify it</source>
        <translation>从官方来源（或镜像）下载选中的模型并校验</translation>
    </message>
    <message>
        <source>Import from file…</source>
        <translation>从文件导入…</translation>
    </message>
    <message>
        <source>Install the selected model from a local file or folder (offline); checked against the manifest</source>
        <translation>从本地文件或文件夹安装选中的模型（离线）；按清单校验</translation>
    </message>
    <message>
        <source>Verify</source>
        <translation>校验</translation>
    </message>
    <message>
        <source>Re-hash the installed files of the selected model (or all) against the manifest</source>
        <translation>按清单重新计算选中模型（或全部模型）已安装文件的哈希</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Read the model folder again</source>
        <translation>重新读取模型文件夹</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>空闲</translation>
    </message>
    <message>
        <source>{first} and {n} more</source>
        <translation>{first} 等另外 {n} 个</translation>
    </message>
    <message>
        <source>{n} bytes on disk</source>
        <translation>磁盘上 {n} 字节</translation>
    </message>
    <message>
        <source>nothing installed</source>
        <translation>未安装任何文件</translation>
    </message>
    <message>
        <source>{n} bytes in the manifest</source>
        <translation>清单中为 {n} 字节</translation>
    </message>
    <message>
        <source>the manifest publishes no size (checked by checksum on first use)</source>
        <translation>清单未公布大小（首次使用时按校验和检查）</translation>
    </message>
    <message>
        <source> (forced)</source>
        <translation>（强制）</translation>
    </message>
    <message>
        <source>licence {licence} · loaded by {library} · files: {files}</source>
        <translation>许可证 {licence} · 由 {library} 加载 · 文件：{files}</translation>
    </message>
    <message>
        <source>installs to {path}</source>
        <translation>安装到 {path}</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>On disk</source>
        <translation>磁盘占用</translation>
    </message>
    <message>
        <source>Published size</source>
        <translation>公布大小</translation>
    </message>
    <message>
        <source>Licence</source>
        <translation>许可证</translation>
    </message>
    <message>
        <source>Used by encoders</source>
        <translation>使用它的编码器</translation>
    </message>
    <message>
        <source>Bytes of the installed files (as `mediasearch models list` shows)</source>
        <translation>已安装文件的大小（与 `mediasearch models list` 显示的一致）</translation>
    </message>
    <message>
        <source>Bytes of the official files, from the manifest</source>
        <translation>官方文件的大小，取自清单</translation>
    </message>
    <message>
        <source>Model folder {path} · {present} of {total} installed</source>
        <translation>模型文件夹 {path} · 已安装 {present} / {total}</translation>
    </message>
    <message>
        <source>Verify all</source>
        <translation>全部校验</translation>
    </message>
    <message>
        <source>Select a model to see its files and where it installs.</source>
        <translation>选择一个模型以查看其文件和安装位置。</translation>
    </message>
    <message>
        <source>Select a model to pull, import or verify it.</source>
        <translation>选择一个模型以下载、导入或校验。</translation>
    </message>
    <message>
        <source>Pulling {name}</source>
        <translation>正在下载 {name}</translation>
    </message>
    <message>
        <source>Import {name} from a file</source>
        <translation>从文件导入 {name}</translation>
    </message>
    <message>
        <source>All files</source>
        <translation>所有文件</translation>
    </message>
    <message>
        <source>…or import {name} from a folder</source>
        <translation>…或从文件夹导入 {name}</translation>
    </message>
    <message>
        <source>{name}: {status} (imported from {path})</source>
        <translation>{name}：{status}（从 {path} 导入）</translation>
    </message>
    <message>
        <source>Importing {name}</source>
        <translation>正在导入 {name}</translation>
    </message>
    <message>
        <source>Nothing installed to verify.</source>
        <translation>没有可校验的已安装文件。</translation>
    </message>
    <message>
        <source>{n} files verified: all match the manifest.</source>
        <translation>已校验 {n} 个文件：全部与清单一致。</translation>
    </message>
    <message>
        <source>Problems: {problems}</source>
        <translation>问题：{problems}</translation>
    </message>
    <message>
        <source>Verifying</source>
        <translation>正在校验</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
</context>
<context>
    <name>QueryPanel</name>
    <message>
        <source>Media</source>
        <translation>媒体文件</translation>
    </message>
    <message>
        <source>All files</source>
        <translation>所有文件</translation>
    </message>
    <message>
        <source>Describe what you are looking for, or words that are spoken…   (or drop a file on the left)</source>
        <translation>描述你要找的内容，或其中说到的话…   （或将文件拖放到左侧）</translation>
    </message>
    <message>
        <source>A text query (Ctrl+F). Press Enter to search.</source>
        <translation>文本查询（Ctrl+F）。按回车键搜索。</translation>
    </message>
    <message>
        <source>Open a saved evaluation query to search and judge it again</source>
        <translation>打开已保存的评估查询，重新搜索并评分</translation>
    </message>
    <message>
        <source>Text query</source>
        <translation>文本查询</translation>
    </message>
    <message>
        <source>the picture at the start time</source>
        <translation>起始时间处的画面</translation>
    </message>
    <message>
        <source>the soundtrack</source>
        <translation>音轨</translation>
    </message>
    <message>
        <source>For a video example: search with one of its frames, or with its sound</source>
        <translation>视频示例：用其中一帧或其声音搜索</translation>
    </message>
    <message>
        <source>Use</source>
        <translation>使用</translation>
    </message>
    <message>
        <source>From</source>
        <translation>从</translation>
    </message>
    <message>
        <source>Start of the part of the example to use, in seconds</source>
        <translation>所用示例片段的开始时间（秒）</translation>
    </message>
    <message>
        <source>end</source>
        <translation>结尾</translation>
    </message>
    <message>
        <source>End of the part of the example to use, in seconds (“end”: to the end of the file)</source>
        <translation>所用示例片段的结束时间（秒；“结尾”表示到文件末尾）</translation>
    </message>
    <message>
        <source>to</source>
        <translation>到</translation>
    </message>
    <message>
        <source>Encoder</source>
        <translation>编码器</translation>
    </message>
    <message>
        <source>The encoder to search with; “Best available” uses the best indexed one per media family</source>
        <translation>用于搜索的编码器；“最佳可用”为每类媒体使用已索引的最佳编码器</translation>
    </message>
    <message>
        <source>Results</source>
        <translation>结果数</translation>
    </message>
    <message>
        <source>How many results to show (k)</source>
        <translation>显示多少个结果（k）</translation>
    </message>
    <message>
        <source>Pool all encoders</source>
        <translation>汇集所有编码器</translation>
    </message>
    <message>
        <source>For judging: merge the top results of every applicable encoder, unjudged first, so every encoder&apos;s results get the same chance to be judged (fair evaluation)</source>
        <translation>用于评分：合并每个适用编码器的靠前结果，未评分的排在前面，让每个编码器的结果都有同等机会被评分（公平评估）</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <source>Search (Ctrl+Enter)</source>
        <translation>搜索（Ctrl+Enter）</translation>
    </message>
    <message>
        <source>{path}: not an image, audio or video file mediasearch can read</source>
        <translation>{path}：不是 mediasearch 能读取的图片、音频或视频文件</translation>
    </message>
    <message>
        <source>At</source>
        <translation>位于</translation>
    </message>
    <message>
        <source>Image example</source>
        <translation>图片示例</translation>
    </message>
    <message>
        <source>Audio example</source>
        <translation>音频示例</translation>
    </message>
    <message>
        <source>Video example</source>
        <translation>视频示例</translation>
    </message>
    <message>
        <source>none indexed</source>
        <translation>尚未索引</translation>
    </message>
    <message>
        <source>Best available ({encoders})</source>
        <translation>最佳可用（{encoders}）</translation>
    </message>
    <message>
        <source>The core&apos;s default: the best indexed encoder per media family</source>
        <translation>核心库的默认设置：每类媒体使用已索引的最佳编码器</translation>
    </message>
    <message>
        <source>Saved queries…</source>
        <translation>已保存的查询…</translation>
    </message>
    <message>
        <source>saved query {name}: its kept file {file} is missing</source>
        <translation>已保存的查询 {name}：其保存的文件 {file} 不存在</translation>
    </message>
    <message>
        <source>type some text, or drop or choose an example file, to search</source>
        <translation>请输入文本，或拖放/选择一个示例文件后再搜索</translation>
    </message>
</context>
<context>
    <name>ResultDelegate</name>
    <message>
        <source>no preview</source>
        <extracomment>keys that grade the current result the score-threshold divider (dashed), readable on light and dark palettes the first row scoring below the encoder&apos;s threshold (a divider is drawn before it); -1: none</extracomment>
        <translation>无预览</translation>
    </message>
    <message>
        <source>✔✔ highly</source>
        <translation>✔✔ 高度</translation>
    </message>
    <message>
        <source>✔ relevant</source>
        <translation>✔ 相关</translation>
    </message>
    <message>
        <source>✘ not</source>
        <translation>✘ 不相关</translation>
    </message>
    <message>
        <source>video</source>
        <translation>视频</translation>
    </message>
    <message>
        <source>1 encoder</source>
        <translation>1 个编码器</translation>
    </message>
    <message>
        <source>{n} encoders</source>
        <translation>{n} 个编码器</translation>
    </message>
    <message>
        <source>score {score}</source>
        <translation>得分 {score}</translation>
    </message>
    <message>
        <source>soundtrack of a video</source>
        <translation>视频的音轨</translation>
    </message>
    <message>
        <source>Mark {grade} (key {key})</source>
        <translation>评为{grade}（按键 {key}）</translation>
    </message>
    <message>
        <source>Play from the hit&apos;s start (Space)</source>
        <translation>从命中处开始播放（空格）</translation>
    </message>
</context>
<context>
    <name>ResultsView</name>
    <message>
        <source>Search by example or text to see results here.</source>
        <extracomment>whether the results come from several encoders (cards then name theirs)</extracomment>
        <translation>以示例或文本搜索，结果将显示在这里。</translation>
    </message>
    <message>
        <source>Grade:</source>
        <translation>评分：</translation>
    </message>
    <message>
        <source>Mark the selected result highly relevant (key 2)</source>
        <translation>将选中的结果评为高度相关（按键 2）</translation>
    </message>
    <message>
        <source>Mark the selected result relevant (key 1)</source>
        <translation>将选中的结果评为相关（按键 1）</translation>
    </message>
    <message>
        <source>Mark the selected result not relevant (key 0)</source>
        <translation>将选中的结果评为不相关（按键 0）</translation>
    </message>
    <message>
        <source>Forget the selected result&apos;s grade (Backspace)</source>
        <translation>清除选中结果的评分（退格键）</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>清除</translation>
    </message>
    <message>
        <source>Next after grading</source>
        <translation>评分后跳到下一个</translation>
    </message>
    <message>
        <source>Move to the next result after grading one</source>
        <translation>为一个结果评分后移到下一个</translation>
    </message>
    <message>
        <source>Thumbnail size</source>
        <translation>缩略图大小</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <source>{encoder}&apos;s threshold for this query: {score} (F1 {f1} over {n} judged results).</source>
        <translation>{encoder} 在此查询上的阈值：{score}（{n} 个已评分结果上 F1 为 {f1}）。</translation>
    </message>
    <message>
        <source>Results after the dashed line score below it.</source>
        <translation>虚线之后的结果得分低于该阈值。</translation>
    </message>
    <message>
        <source>Every result shown scores at or above it.</source>
        <translation>显示的所有结果得分都不低于该阈值。</translation>
    </message>
</context>
<context>
    <name>SearchPage</name>
    <message>
        <source>Searching for {query}…</source>
        <translation>正在搜索 {query}…</translation>
    </message>
    <message>
        <source>Answered by the running search service (mediasearch serve)</source>
        <translation>由正在运行的搜索服务（mediasearch serve）回答</translation>
    </message>
    <message>
        <source>Searched in this window: no search service is running for this library</source>
        <translation>在本窗口中搜索：此库没有正在运行的搜索服务</translation>
    </message>
    <message>
        <source>The search failed.</source>
        <translation>搜索失败。</translation>
    </message>
    <message>
        <source>pool of {encoders}</source>
        <translation>汇集 {encoders}</translation>
    </message>
    <message>
        <source>1 result</source>
        <translation>1 个结果</translation>
    </message>
    <message>
        <source>{n} results</source>
        <translation>{n} 个结果</translation>
    </message>
    <message>
        <source>&lt;b&gt;{count}&lt;/b&gt; for {query}</source>
        <translation>{query} 的 &lt;b&gt;{count}&lt;/b&gt;</translation>
    </message>
    <message>
        <source>saved as &lt;i&gt;{name}&lt;/i&gt;: {judged} of {n} judged</source>
        <translation>已保存为 &lt;i&gt;{name}&lt;/i&gt;：已评分 {judged} / {n}</translation>
    </message>
    <message>
        <source>grade with 2 / 1 / 0</source>
        <translation>按 2 / 1 / 0 评分</translation>
    </message>
    <message>
        <source>the example itself is left out</source>
        <translation>示例本身不计入结果</translation>
    </message>
    <message>
        <source>Pictures and video frames</source>
        <translation>图片和视频帧</translation>
    </message>
    <message>
        <source>Speech (transcripts)</source>
        <translation>语音（转写文本）</translation>
    </message>
    <message>
        <source>Sounds</source>
        <translation>声音</translation>
    </message>
    <message>
        <source>{media} were not searched: choose {encoder} to reach them</source>
        <translation>未搜索{media}：选择 {encoder} 即可搜索到它们</translation>
    </message>
    <message>
        <source>{media} were not searched: install and index {encoder} (Models page) to reach them</source>
        <translation>未搜索{media}：安装 {encoder}（模型页面）并用它建立索引即可搜索到它们</translation>
    </message>
    <message>
        <source>{encoder} has not embedded {missing} of {total} files yet: index again to find them</source>
        <translation>{encoder} 尚未嵌入 {total} 个文件中的 {missing} 个：再次建立索引即可找到它们</translation>
    </message>
    <message>
        <source>cosine similarity (-1 to 1, higher is closer)</source>
        <translation>余弦相似度（-1 到 1，越高越相近）</translation>
    </message>
    <message>
        <source>fused rank score (about 0.01 to 0.03): compare ranks, not scores</source>
        <translation>融合排名分数（约 0.01 到 0.03）：请比较排名，而非分数</translation>
    </message>
    <message>
        <source>Scores</source>
        <translation>评分</translation>
    </message>
    <message>
        <source>Search by example or text to see results here.</source>
        <translation>以示例或文本搜索，结果将显示在这里。</translation>
    </message>
    <message>
        <source>A new example: press Search (Ctrl+Enter) to see its results.</source>
        <translation>新的示例：按“搜索”（Ctrl+Enter）查看结果。</translation>
    </message>
    <message>
        <source>{path} is not indexed any more; index again before judging it</source>
        <translation>{path} 已不在索引中；请重新索引后再评分</translation>
    </message>
    <message>
        <source>Saved the query for evaluation as “{name}”</source>
        <translation>已将查询保存为评估查询“{name}”</translation>
    </message>
</context>
<context>
    <name>actions</name>
    <message>
        <source>no encoder in this library answers {modality} queries (indexed: {indexed}); index with an encoder that does</source>
        <translation>此库中没有能回答 {modality} 查询的编码器（已索引：{indexed}）；请用支持它的编码器建立索引</translation>
    </message>
</context>
<context>
    <name>charts</name>
    <message>
        <source>recall</source>
        <translation>召回率</translation>
    </message>
    <message>
        <source>interpolated precision</source>
        <translation>插值精确率</translation>
    </message>
    <message>
        <source>ms per search</source>
        <translation>每次搜索毫秒数</translation>
    </message>
    <message>
        <source>search latency</source>
        <translation>搜索延迟</translation>
    </message>
    <message>
        <source>Pareto front</source>
        <translation>帕累托前沿</translation>
    </message>
    <message>
        <source>no encoder has both MAP and indexing speed</source>
        <translation>没有编码器同时具有 MAP 和索引速度</translation>
    </message>
    <message>
        <source>indexing speed (files/s, log scale)</source>
        <translation>索引速度（文件/秒，对数刻度）</translation>
    </message>
    <message>
        <source>searches per second</source>
        <translation>每秒搜索数</translation>
    </message>
    <message>
        <source>p95 latency (ms)</source>
        <translation>p95 延迟（ms）</translation>
    </message>
</context>
<context>
    <name>core</name>
    <message>
        <source>DINOv2 ViT-B/14 (self-supervised, LVD-142M) via timm: 768-d image features for image -&gt; image</source>
        <translation>DINOv2 ViT-B/14（自监督，LVD-142M），经 timm：768 维图像特征，用于以图搜图</translation>
    </message>
    <message>
        <source>DINOv2 ViT-S/14 (self-supervised, LVD-142M) via timm: 384-d image features for image -&gt; image</source>
        <translation>DINOv2 ViT-S/14（自监督，LVD-142M），经 timm：384 维图像特征，用于以图搜图</translation>
    </message>
    <message>
        <source>LAION-CLAP HTSAT-unfused (transformers ClapModel): sounds and text in one space, so &apos;dog barking&apos; finds sounds</source>
        <translation>LAION-CLAP HTSAT-unfused（transformers ClapModel）：声音与文本处于同一空间，因此“dog barking”可以找到声音</translation>
    </message>
    <message>
        <source>OpenAI CLIP ViT-B/32 (open_clip ViT-B-32, openai weights): image and text towers, light</source>
        <translation>OpenAI CLIP ViT-B/32（open_clip ViT-B-32，openai 权重）：图像和文本双塔，轻量</translation>
    </message>
    <message>
        <source>OpenAI CLIP ViT-L/14 (open_clip ViT-L-14, openai weights): image and text towers, large</source>
        <translation>OpenAI CLIP ViT-L/14（open_clip ViT-L-14，openai 权重）：图像和文本双塔，大型</translation>
    </message>
    <message>
        <source>PANNs CNN14 (AudioSet, mAP 0.431): 2048-d clip embeddings and AudioSet labels</source>
        <translation>PANNs CNN14（AudioSet，mAP 0.431）：2048 维片段向量和 AudioSet 标签</translation>
    </message>
    <message>
        <source>open_clip ViT-B-16-SigLIP (webli): image and text towers, text queries find images and frames</source>
        <translation>open_clip ViT-B-16-SigLIP（webli）：图像和文本双塔，文本查询可找到图片和视频帧</translation>
    </message>
    <message>
        <source>open_clip ViT-B-16-SigLIP2-256 (webli): SigLIP 2 image and text towers, multilingual text</source>
        <translation>open_clip ViT-B-16-SigLIP2-256（webli）：SigLIP 2 图像和文本双塔，支持多语言文本</translation>
    </message>
    <message>
        <source>openai-whisper base.en: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)</source>
        <translation>openai-whisper base.en：带时间码的转写文本，以 BM25 + all-MiniLM-L6-v2（RRF）搜索</translation>
    </message>
    <message>
        <source>openai-whisper base: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)</source>
        <translation>openai-whisper base：带时间码的转写文本，以 BM25 + all-MiniLM-L6-v2（RRF）搜索</translation>
    </message>
    <message>
        <source>openai-whisper medium.en: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)</source>
        <translation>openai-whisper medium.en：带时间码的转写文本，以 BM25 + all-MiniLM-L6-v2（RRF）搜索</translation>
    </message>
    <message>
        <source>openai-whisper medium: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)</source>
        <translation>openai-whisper medium：带时间码的转写文本，以 BM25 + all-MiniLM-L6-v2（RRF）搜索</translation>
    </message>
    <message>
        <source>openai-whisper small.en: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)</source>
        <translation>openai-whisper small.en：带时间码的转写文本，以 BM25 + all-MiniLM-L6-v2（RRF）搜索</translation>
    </message>
    <message>
        <source>openai-whisper small: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)</source>
        <translation>openai-whisper small：带时间码的转写文本，以 BM25 + all-MiniLM-L6-v2（RRF）搜索</translation>
    </message>
    <message>
        <source>openai-whisper tiny.en: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)</source>
        <translation>openai-whisper tiny.en：带时间码的转写文本，以 BM25 + all-MiniLM-L6-v2（RRF）搜索</translation>
    </message>
    <message>
        <source>openai-whisper tiny: time-coded transcripts, searched by BM25 + all-MiniLM-L6-v2 (RRF)</source>
        <translation>openai-whisper tiny：带时间码的转写文本，以 BM25 + all-MiniLM-L6-v2（RRF）搜索</translation>
    </message>
    <message>
        <source>timm tf_efficientnet_lite0 (ImageNet), pooled 1280-d features; light, for laptops</source>
        <translation>timm tf_efficientnet_lite0（ImageNet），池化后的 1280 维特征；轻量，适合笔记本电脑</translation>
    </message>
    <message>
        <source>torchvision ResNet50, ImageNet IMAGENET1K_V2 weights, pooled 2048-d features</source>
        <translation>torchvision ResNet50，ImageNet IMAGENET1K_V2 权重，池化后的 2048 维特征</translation>
    </message>
    <message>
        <source>weight-free colour histograms + wavelet layout + LBP texture + Fourier spectrum (no downloads)</source>
        <translation>无需权重的颜色直方图 + 小波布局 + LBP 纹理 + 傅里叶频谱（无需下载）</translation>
    </message>
    <message>
        <source>weight-free landmark fingerprint: finds the same recording after noise, shift, resampling (no downloads)</source>
        <translation>无需权重的地标指纹：在加噪、平移、重采样后仍能找到同一段录音（无需下载）</translation>
    </message>
    <message>
        <source>weight-free texture statistics (log-mel, contrast, modulation) + landmark fingerprint (no downloads)</source>
        <translation>无需权重的纹理统计（log-mel、对比度、调制）+ 地标指纹（无需下载）</translation>
    </message>
    <message>
        <source>Apache-2.0</source>
        <translation>Apache-2.0</translation>
    </message>
    <message>
        <source>Apache-2.0 (DINOv2 weights)</source>
        <translation>Apache-2.0（DINOv2 权重）</translation>
    </message>
    <message>
        <source>Apache-2.0 (LAION-CLAP weights and code)</source>
        <translation>Apache-2.0（LAION-CLAP 权重和代码）</translation>
    </message>
    <message>
        <source>Apache-2.0 (SigLIP 2 weights)</source>
        <translation>Apache-2.0（SigLIP 2 权重）</translation>
    </message>
    <message>
        <source>Apache-2.0 (SigLIP weights)</source>
        <translation>Apache-2.0（SigLIP 权重）</translation>
    </message>
    <message>
        <source>Apache-2.0 (this project)</source>
        <translation>Apache-2.0（本项目）</translation>
    </message>
    <message>
        <source>BSD-3-Clause (torchvision weights)</source>
        <translation>BSD-3-Clause（torchvision 权重）</translation>
    </message>
    <message>
        <source>MIT (OpenAI CLIP weights and code)</source>
        <translation>MIT（OpenAI CLIP 权重和代码）</translation>
    </message>
    <message>
        <source>MIT (PANNs code and weights)</source>
        <translation>MIT（PANNs 代码和权重）</translation>
    </message>
    <message>
        <source>MIT (Whisper); Apache-2.0 (all-MiniLM-L6-v2)</source>
        <translation>MIT（Whisper）；Apache-2.0（all-MiniLM-L6-v2）</translation>
    </message>
    <message>
        <source>AudioSet mAP 0.431 (Kong et al., PANNs, arXiv:1912.10211, Table 2)</source>
        <translation>AudioSet mAP 0.431（Kong 等人 PANNs 论文 arXiv:1912.10211 表 2）</translation>
    </message>
    <message>
        <source>ESC-50 zero-shot R@1 92.75% for LAION-CLAP&apos;s non-fusion default checkpoint (LAION-AI/CLAP README, first ESC-50 split); the hub port&apos;s checkpoint is not named there</source>
        <translation>ESC-50 零样本 R@1 92.75%（LAION-CLAP 非融合默认检查点，见 LAION-AI/CLAP 说明文档，ESC-50 第一折）；Hub 移植版的检查点在那里未列出</translation>
    </message>
    <message>
        <source>ImageNet-1k acc@1 80.858 (torchvision IMAGENET1K_V2 weights table)</source>
        <translation>ImageNet-1k top-1 准确率 80.858（torchvision IMAGENET1K_V2 权重表）</translation>
    </message>
    <message>
        <source>ImageNet-1k k-NN top-1 79.0% (linear 81.1%) (Oquab et al., DINOv2, arXiv:2304.07193; facebookresearch/dinov2 README)</source>
        <translation>ImageNet-1k k 近邻 top-1 准确率 79.0%（线性 81.1%）（Oquab 等人 DINOv2 论文 arXiv:2304.07193 及其说明文档）</translation>
    </message>
    <message>
        <source>ImageNet-1k k-NN top-1 82.1% (linear 84.5%) (Oquab et al., DINOv2, arXiv:2304.07193; facebookresearch/dinov2 README)</source>
        <translation>ImageNet-1k k 近邻 top-1 准确率 82.1%（线性 84.5%）（Oquab 等人 DINOv2 论文 arXiv:2304.07193 及其说明文档）</translation>
    </message>
    <message>
        <source>ImageNet-1k top-1 74.830 (timm results/results-imagenet.csv, tf_efficientnet_lite0.in1k, 224 px)</source>
        <translation>ImageNet-1k top-1 准确率 74.830（timm 结果表 results-imagenet.csv，tf_efficientnet_lite0.in1k，224 px）</translation>
    </message>
    <message>
        <source>ImageNet-1k zero-shot top-1 63.32% (open_clip docs/openclip_results.csv, ViT-B-32 openai)</source>
        <translation>ImageNet-1k 零样本 top-1 准确率 63.32%（open_clip 结果表 openclip_results.csv，ViT-B-32 openai）</translation>
    </message>
    <message>
        <source>ImageNet-1k zero-shot top-1 75.54% (open_clip docs/openclip_results.csv, ViT-L-14 openai)</source>
        <translation>ImageNet-1k 零样本 top-1 准确率 75.54%（open_clip 结果表 openclip_results.csv，ViT-L-14 openai）</translation>
    </message>
    <message>
        <source>ImageNet-1k zero-shot top-1 76.04% (open_clip docs/openclip_classification_results.csv, ViT-B-16-SigLIP webli)</source>
        <translation>ImageNet-1k 零样本 top-1 准确率 76.04%（open_clip 分类结果表 openclip_classification_results.csv，ViT-B-16-SigLIP webli）</translation>
    </message>
    <message>
        <source>ImageNet-1k zero-shot top-1 79.1% (Tschannen et al., SigLIP 2, arXiv:2502.14786, Table 1, B/16 at 256 px)</source>
        <translation>ImageNet-1k 零样本 top-1 准确率 79.1%（Tschannen 等人 SigLIP 2 论文 arXiv:2502.14786 表 1，B/16，256 px）</translation>
    </message>
    <message>
        <source>LibriSpeech test-clean WER 2.9% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)</source>
        <translation>LibriSpeech test-clean 词错误率 2.9%（Whisper 论文 arXiv:2212.04356 附录 D.1.1）</translation>
    </message>
    <message>
        <source>LibriSpeech test-clean WER 3.1% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)</source>
        <translation>LibriSpeech test-clean 词错误率 3.1%（Whisper 论文 arXiv:2212.04356 附录 D.1.1）</translation>
    </message>
    <message>
        <source>LibriSpeech test-clean WER 3.4% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)</source>
        <translation>LibriSpeech test-clean 词错误率 3.4%（Whisper 论文 arXiv:2212.04356 附录 D.1.1）</translation>
    </message>
    <message>
        <source>LibriSpeech test-clean WER 4.2% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)</source>
        <translation>LibriSpeech test-clean 词错误率 4.2%（Whisper 论文 arXiv:2212.04356 附录 D.1.1）</translation>
    </message>
    <message>
        <source>LibriSpeech test-clean WER 5.0% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)</source>
        <translation>LibriSpeech test-clean 词错误率 5.0%（Whisper 论文 arXiv:2212.04356 附录 D.1.1）</translation>
    </message>
    <message>
        <source>LibriSpeech test-clean WER 5.6% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)</source>
        <translation>LibriSpeech test-clean 词错误率 5.6%（Whisper 论文 arXiv:2212.04356 附录 D.1.1）</translation>
    </message>
    <message>
        <source>LibriSpeech test-clean WER 7.6% (Whisper paper, arXiv:2212.04356, Appendix D.1.1)</source>
        <translation>LibriSpeech test-clean 词错误率 7.6%（Whisper 论文 arXiv:2212.04356 附录 D.1.1）</translation>
    </message>
    <message>
        <source>generated scene classes: MAP 0.905 (categories), 0.919 (near-duplicates); docs/PERFORMANCE.md (this project)</source>
        <translation>生成的场景类别：MAP 0.905（类别）、0.919（近似重复）；见本项目 docs/PERFORMANCE.md</translation>
    </message>
    <message>
        <source>generated sound classes: MAP 0.919 (categories), 0.929 (near-duplicates); docs/PERFORMANCE.md (this project)</source>
        <translation>生成的声音类别：MAP 0.919（类别）、0.929（近似重复）；见本项目 docs/PERFORMANCE.md</translation>
    </message>
    <message>
        <source>generated sound near-duplicates: MAP 0.985; docs/PERFORMANCE.md (this project)</source>
        <translation>生成的近似重复声音：MAP 0.985；见本项目 docs/PERFORMANCE.md</translation>
    </message>
    <message>
        <source>BGE small en v1.5, 384-d English retrieval embeddings ([CLS] pooling; an instruction before queries); SentenceTransformer(&lt;dir&gt;)</source>
        <translation>BGE small en v1.5，384 维英文检索向量（[CLS] 池化；查询前加指令）；SentenceTransformer(&lt;dir&gt;)</translation>
    </message>
    <message>
        <source>DINOv2 ViT-B/14 (LVD-142M, self-supervised) as timm vit_base_patch14_dinov2.lvd142m safetensors, loaded strict</source>
        <translation>DINOv2 ViT-B/14（LVD-142M，自监督），timm vit_base_patch14_dinov2.lvd142m safetensors 文件，严格加载</translation>
    </message>
    <message>
        <source>DINOv2 ViT-S/14 (LVD-142M, self-supervised) as timm vit_small_patch14_dinov2.lvd142m safetensors, loaded strict</source>
        <translation>DINOv2 ViT-S/14（LVD-142M，自监督），timm vit_small_patch14_dinov2.lvd142m safetensors 文件，严格加载</translation>
    </message>
    <message>
        <source>E5 small v2, 384-d English retrieval embeddings (mean pooling; &apos;query: &apos; / &apos;passage: &apos; prefixes); SentenceTransformer(&lt;dir&gt;)</source>
        <translation>E5 small v2，384 维英文检索向量（均值池化；前缀为 &apos;query:&apos;/&apos;passage:&apos;）；SentenceTransformer(&lt;dir&gt;)</translation>
    </message>
    <message>
        <source>LAION-CLAP HTSAT-unfused as transformers&apos; ClapModel (audio + text towers), its feature extractor config and RoBERTa BPE files; built with ClapModel(config) from &lt;dir&gt;, no hub</source>
        <translation>LAION-CLAP HTSAT-unfused，以 transformers 的 ClapModel 形式（音频 + 文本双塔），附特征提取配置和 RoBERTa BPE 文件；由 &lt;dir&gt; 中的 ClapModel(config) 构建，不访问 Hub</translation>
    </message>
    <message>
        <source>OpenAI CLIP ViT-B/32 (TorchScript archive); open_clip ViT-B-32 with QuickGELU loads its state dict strictly</source>
        <translation>OpenAI CLIP ViT-B/32（TorchScript 归档）；由使用 QuickGELU 的 open_clip ViT-B-32 严格加载其参数</translation>
    </message>
    <message>
        <source>OpenAI CLIP ViT-L/14 (TorchScript archive); open_clip ViT-L-14 with QuickGELU loads its state dict strictly</source>
        <translation>OpenAI CLIP ViT-L/14（TorchScript 归档）；由使用 QuickGELU 的 open_clip ViT-L-14 严格加载其参数</translation>
    </message>
    <message>
        <source>OpenAI Whisper base (English-only); load with whisper.load_model(path)</source>
        <translation>OpenAI Whisper base（仅英语）；用 whisper.load_model(path) 加载</translation>
    </message>
    <message>
        <source>OpenAI Whisper base (multilingual); load with whisper.load_model(path)</source>
        <translation>OpenAI Whisper base（多语言）；用 whisper.load_model(path) 加载</translation>
    </message>
    <message>
        <source>OpenAI Whisper medium (English-only); load with whisper.load_model(path)</source>
        <translation>OpenAI Whisper medium（仅英语）；用 whisper.load_model(path) 加载</translation>
    </message>
    <message>
        <source>OpenAI Whisper medium (multilingual); load with whisper.load_model(path)</source>
        <translation>OpenAI Whisper medium（多语言）；用 whisper.load_model(path) 加载</translation>
    </message>
    <message>
        <source>OpenAI Whisper small (English-only); load with whisper.load_model(path)</source>
        <translation>OpenAI Whisper small（仅英语）；用 whisper.load_model(path) 加载</translation>
    </message>
    <message>
        <source>OpenAI Whisper small (multilingual); load with whisper.load_model(path)</source>
        <translation>OpenAI Whisper small（多语言）；用 whisper.load_model(path) 加载</translation>
    </message>
    <message>
        <source>OpenAI Whisper tiny (English-only); load with whisper.load_model(path)</source>
        <translation>OpenAI Whisper tiny（仅英语）；用 whisper.load_model(path) 加载</translation>
    </message>
    <message>
        <source>OpenAI Whisper tiny (multilingual); load with whisper.load_model(path)</source>
        <translation>OpenAI Whisper tiny（多语言）；用 whisper.load_model(path) 加载</translation>
    </message>
    <message>
        <source>PANNs CNN14 AudioSet checkpoint (mAP 0.431), Zenodo record 3987831 (weights CC-BY-4.0, code MIT)</source>
        <translation>PANNs CNN14 AudioSet 检查点（mAP 0.431），Zenodo 记录 3987831（权重 CC-BY-4.0，代码 MIT）</translation>
    </message>
    <message>
        <source>The 527 AudioSet class labels (index, mid, display_name) PANNs CNN14 outputs; a copy ships in models/</source>
        <translation>PANNs CNN14 输出的 527 个 AudioSet 类别标签（index、mid、display_name）；models/ 中附带一份副本</translation>
    </message>
    <message>
        <source>multilingual E5 small, 384-d embeddings in about 100 languages (mean pooling; &apos;query: &apos; / &apos;passage: &apos; prefixes); SentenceTransformer(&lt;dir&gt;)</source>
        <translation>多语言 E5 small，约 100 种语言的 384 维向量（均值池化；前缀为 &apos;query:&apos;/&apos;passage:&apos;）；SentenceTransformer(&lt;dir&gt;)</translation>
    </message>
    <message>
        <source>open_clip ViT-B-16-SigLIP (WebLI) image and text towers with its tokenizer; open_clip.create_model(&apos;local-dir:&lt;dir&gt;&apos;)</source>
        <translation>open_clip ViT-B-16-SigLIP（WebLI）图像和文本双塔及其分词器；open_clip.create_model(&apos;local-dir:&lt;dir&gt;&apos;)</translation>
    </message>
    <message>
        <source>open_clip ViT-B-16-SigLIP2-256 (WebLI) image and text towers with its Gemma tokenizer files</source>
        <translation>open_clip ViT-B-16-SigLIP2-256（WebLI）图像和文本双塔及其 Gemma 分词器文件</translation>
    </message>
    <message>
        <source>sentence-transformers all-MiniLM-L6-v2, 384-d English text embeddings; SentenceTransformer(&lt;dir&gt;)</source>
        <translation>sentence-transformers all-MiniLM-L6-v2，384 维英文文本向量；SentenceTransformer(&lt;dir&gt;)</translation>
    </message>
    <message>
        <source>sentence-transformers multi-qa-MiniLM-L6-cos-v1, 384-d English question-to-passage embeddings (mean pooling); SentenceTransformer(&lt;dir&gt;)</source>
        <translation>sentence-transformers multi-qa-MiniLM-L6-cos-v1，384 维英文问题到段落向量（均值池化）；SentenceTransformer(&lt;dir&gt;)</translation>
    </message>
    <message>
        <source>sentence-transformers paraphrase-multilingual-MiniLM-L12-v2, 384-d text embeddings in 50+ languages; SentenceTransformer(&lt;dir&gt;)</source>
        <translation>sentence-transformers paraphrase-multilingual-MiniLM-L12-v2，支持 50 多种语言的 384 维文本向量；SentenceTransformer(&lt;dir&gt;)</translation>
    </message>
    <message>
        <source>timm tf_efficientnet_lite0 ImageNet-1k (Google&apos;s TF weights) as a safetensors state dict, loaded strict</source>
        <translation>timm tf_efficientnet_lite0 ImageNet-1k（Google 的 TF 权重），safetensors 格式的 state dict，严格加载</translation>
    </message>
    <message>
        <source>torchvision ResNet50 IMAGENET1K_V2 state dict; resnet50() then load_state_dict</source>
        <translation>torchvision ResNet50 IMAGENET1K_V2 state dict；先 resnet50() 再 load_state_dict</translation>
    </message>
    <message>
        <source>scan</source>
        <translation>扫描</translation>
    </message>
    <message>
        <source>check</source>
        <translation>检查</translation>
    </message>
    <message>
        <source>embed images</source>
        <translation>生成图片向量</translation>
    </message>
    <message>
        <source>embed audio</source>
        <translation>生成音频向量</translation>
    </message>
    <message>
        <source>transcribe</source>
        <translation>转写</translation>
    </message>
    <message>
        <source>download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>verify</source>
        <translation>校验</translation>
    </message>
    <message>
        <source>import</source>
        <translation>导入</translation>
    </message>
    <message>
        <source>evaluate</source>
        <translation>评估</translation>
    </message>
    <message>
        <source>time searches</source>
        <translation>测量搜索耗时</translation>
    </message>
    <message>
        <source>file</source>
        <translation>个文件</translation>
    </message>
    <message>
        <source>files</source>
        <translation>个文件</translation>
    </message>
    <message>
        <source>search</source>
        <translation>次搜索</translation>
    </message>
    <message>
        <source>pass</source>
        <translation>轮</translation>
    </message>
    <message>
        <source>query</source>
        <translation>个查询</translation>
    </message>
    <message>
        <source>segment</source>
        <translation>个片段</translation>
    </message>
    <message>
        <source>present</source>
        <translation>已安装</translation>
    </message>
    <message>
        <source>missing</source>
        <translation>缺失</translation>
    </message>
    <message>
        <source>partial</source>
        <translation>不完整</translation>
    </message>
    <message>
        <source>corrupt</source>
        <translation>已损坏</translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <source>The library&apos;s catalog is damaged ({error}).</source>
        <extracomment>the dialogs shown so far, newest last (tests read them; closed ones are dropped)</extracomment>
        <translation>库的目录数据库已损坏（{error}）。</translation>
    </message>
    <message>
        <source>Close the app and run `mediasearch repair`: it rebuilds what it can from your files and the stored vectors, and keeps your judgements.</source>
        <translation>请关闭应用并运行 `mediasearch repair`：它会根据您的文件和已存储的向量尽可能重建，并保留您的相关性评估。</translation>
    </message>
    <message>
        <source>A copy of the damaged catalog was kept at {path}.</source>
        <translation>已在 {path} 保留一份损坏目录的副本。</translation>
    </message>
    <message>
        <source>Open the Models page to pull or import it, or {hint}.</source>
        <translation>打开“模型”页下载或导入它，或者 {hint}。</translation>
    </message>
    <message>
        <source>Unexpected error: {error}</source>
        <translation>意外错误：{error}</translation>
    </message>
    <message>
        <source>This is a bug; the details help to report it.</source>
        <translation>这是一个程序错误；报告时请附上详细信息。</translation>
    </message>
</context>
<context>
    <name>grades</name>
    <message>
        <source>not judged</source>
        <translation>未评分</translation>
    </message>
    <message>
        <source>highly relevant (2)</source>
        <translation>高度相关（2）</translation>
    </message>
    <message>
        <source>relevant (1)</source>
        <translation>相关（1）</translation>
    </message>
    <message>
        <source>not relevant (0)</source>
        <translation>不相关（0）</translation>
    </message>
    <message>
        <source>Highly relevant</source>
        <translation>高度相关</translation>
    </message>
    <message>
        <source>Relevant</source>
        <translation>相关</translation>
    </message>
    <message>
        <source>Not relevant</source>
        <translation>不相关</translation>
    </message>
</context>
<context>
    <name>kinds</name>
    <message>
        <source>image</source>
        <extracomment>grade -&gt; badge colour (white text on it reads: contrast &gt;= 4.5)</extracomment>
        <translation>图片</translation>
    </message>
    <message>
        <source>video</source>
        <translation>视频</translation>
    </message>
    <message>
        <source>audio</source>
        <translation>音频</translation>
    </message>
    <message>
        <source>text</source>
        <translation>文本</translation>
    </message>
</context>
<context>
    <name>player</name>
    <message>
        <source>Could not open {name}</source>
        <extracomment>(executable, argument template for the start time in seconds) replaced in tests so nothing is launched: (command list or None for the desktop default, path, start)</extracomment>
        <translation>无法打开 {name}</translation>
    </message>
    <message>
        <source>Opened {name} (seek to {time}: the default player cannot be told where to start)</source>
        <translation>已打开 {name}（请手动跳到 {time}：默认播放器无法指定起始时间）</translation>
    </message>
    <message>
        <source>Opened {name} at {time}</source>
        <translation>已在 {time} 处打开 {name}</translation>
    </message>
    <message>
        <source>Opened {name}</source>
        <translation>已打开 {name}</translation>
    </message>
    <message>
        <source>Playing {name} from {time}</source>
        <translation>正在从 {time} 播放 {name}</translation>
    </message>
    <message>
        <source>Playing {name}</source>
        <translation>正在播放 {name}</translation>
    </message>
</context>
<context>
    <name>results</name>
    <message>
        <source>Result {rank}: {name}, score {score}, {grade}</source>
        <translation>结果 {rank}：{name}，得分 {score}，{grade}</translation>
    </message>
    <message>
        <source>{kind} · rank {rank} · score {score} · {encoder}</source>
        <translation>{kind} · 排名 {rank} · 得分 {score} · {encoder}</translation>
    </message>
    <message>
        <source>at {time}</source>
        <translation>位于 {time}</translation>
    </message>
    <message>
        <source>also at {times}</source>
        <translation>另见 {times}</translation>
    </message>
    <message>
        <source>found by {encoders}</source>
        <translation>由 {encoders} 找到</translation>
    </message>
    <message>
        <source>not judged yet</source>
        <translation>尚未评分</translation>
    </message>
    <message>
        <source>&lt;i&gt;{grade}&lt;/i&gt; — keys 2 / 1 / 0 to grade</source>
        <translation>&lt;i&gt;{grade}&lt;/i&gt; — 按 2 / 1 / 0 评分</translation>
    </message>
</context>
<context>
    <name>text</name>
    <message>
        <source>end</source>
        <translation>结尾</translation>
    </message>
    <message>
        <source>1 image</source>
        <translation>1 张图片</translation>
    </message>
    <message>
        <source>{n} images</source>
        <translation>{n} 张图片</translation>
    </message>
    <message>
        <source>1 video</source>
        <translation>1 个视频</translation>
    </message>
    <message>
        <source>{n} videos</source>
        <translation>{n} 个视频</translation>
    </message>
    <message>
        <source>1 audio file</source>
        <translation>1 个音频文件</translation>
    </message>
    <message>
        <source>{n} audio files</source>
        <translation>{n} 个音频文件</translation>
    </message>
    <message>
        <source>nothing indexed yet</source>
        <translation>尚未索引任何内容</translation>
    </message>
    <message>
        <source>{n} skipped</source>
        <translation>跳过 {n} 个</translation>
    </message>
    <message>
        <source>{time} left</source>
        <translation>剩余 {time}</translation>
    </message>
</context>
</TS>
