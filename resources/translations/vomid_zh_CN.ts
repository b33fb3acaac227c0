<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>AdminScreen</name>
    <message>
        <location filename="../../ui/screens/admin.py" line="67" />
        <source>Speakers</source>
        <translation>说话人</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="68" />
        <source>Peers</source>
        <translation>对等节点</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="70" />
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="71" />
        <source>Audit log</source>
        <translation>审计日志</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="73" />
        <source>Calibration</source>
        <translation>阈值校准</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="76" />
        <source>Administration</source>
        <translation>系统管理</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="89" />
        <source>Search by id or name</source>
        <translation>按编号或姓名搜索</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="92" />
        <source>Enable</source>
        <translation>启用</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="93" />
        <source>Disable</source>
        <translation>停用</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="94" />
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="101" />
        <source>Id</source>
        <translation>编号</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="101" />
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="101" />
        <location filename="../../ui/screens/admin.py" line="158" />
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="101" />
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="102" />
        <source>Enrolled</source>
        <translation>注册时间</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="115" />
        <source>active</source>
        <translation>已启用</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="115" />
        <source>disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="115" />
        <source>locked</source>
        <translation>已锁定</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="138" />
        <source>Delete speaker</source>
        <translation>删除说话人</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="139" />
        <source>Delete %1 and their voiceprints? This cannot be undone.</source>
        <translation>删除 %1 及其声纹？此操作无法撤销。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="158" />
        <source>Node</source>
        <translation>节点</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="158" />
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="158" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="159" />
        <source>Latency (ms)</source>
        <translation>延迟（毫秒）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="159" />
        <source>Load</source>
        <translation>负载</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="167" />
        <source>Refreshed every 2 seconds while shown.</source>
        <translation>显示时每 2 秒刷新一次。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="179" />
        <source> (this node)</source>
        <translation>（本节点）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="204" />
        <source>serving</source>
        <translation>服务中</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="204" />
        <source>up</source>
        <translation>在线</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="204" />
        <source>loading</source>
        <translation>加载中</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="205" />
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="205" />
        <source>down</source>
        <translation>离线</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="205" />
        <source>unreachable</source>
        <translation>无法连接</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="206" />
        <source>local only</source>
        <translation>仅本机</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="212" />
        <source>Event</source>
        <translation>事件</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="212" />
        <source>Actor</source>
        <translation>操作者</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="212" />
        <source>Subject</source>
        <translation>对象</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="212" />
        <source>Date and time</source>
        <translation>日期和时间</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin.py" line="213" />
        <source>Details</source>
        <translation>详情</translation>
    </message>
</context>
<context>
    <name>AudioSource</name>
    <message>
        <location filename="../../ui/audio_source.py" line="96" />
        <source>The audio library PortAudio is missing. Install it (Debian/Ubuntu: apt-get install libportaudio2) or start with --audio-source FILE.</source>
        <translation>缺少音频库 PortAudio。请安装它（Debian/Ubuntu：apt-get install libportaudio2），或使用 --audio-source FILE 启动。</translation>
    </message>
    <message>
        <location filename="../../ui/audio_source.py" line="106" />
        <source>No usable microphone (%1). Connect a microphone or close the program using it, then retry.</source>
        <translation>没有可用的麦克风（%1）。请连接麦克风或关闭正在使用它的程序，然后重试。</translation>
    </message>
    <message>
        <location filename="../../ui/audio_source.py" line="166" />
        <source>No audio file to play: start with --audio-source FILE.</source>
        <translation>没有可播放的音频文件：请使用 --audio-source FILE 启动。</translation>
    </message>
    <message>
        <location filename="../../ui/audio_source.py" line="173" />
        <source>Cannot play %1</source>
        <translation>无法播放 %1</translation>
    </message>
</context>
<context>
    <name>Audit</name>
    <message>
        <location filename="../../ui/audit_text.py" line="14" />
        <source>Admin PIN entered</source>
        <translation>输入管理员 PIN</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="15" />
        <source>Admin PIN changed</source>
        <translation>管理员 PIN 已更改</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="16" />
        <source>API key refused for this action</source>
        <translation>API 密钥无权执行此操作</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="17" />
        <source>Unknown API key</source>
        <translation>未知的 API 密钥</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="18" />
        <source>Backup written</source>
        <translation>已写入备份</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="19" />
        <source>Cluster created</source>
        <translation>已创建集群</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="20" />
        <source>Joined a cluster</source>
        <translation>已加入集群</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="21" />
        <source>Cluster member removed</source>
        <translation>已移除集群成员</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="22" />
        <source>Join token issued</source>
        <translation>已签发加入令牌</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="23" />
        <source>Consent recorded</source>
        <translation>已记录同意</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="24" />
        <source>Enrolled</source>
        <translation>注册时间</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="25" />
        <source>Sign-in (who is speaking)</source>
        <translation>登录（识别说话人）</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="26" />
        <source>Sign-in (claimed id)</source>
        <translation>登录（核验所报 ID）</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="27" />
        <source>Locked out after failed attempts</source>
        <translation>多次失败后锁定</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="28" />
        <source>Meeting labelled</source>
        <translation>已标注会议</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="29" />
        <source>Replayed recording refused</source>
        <translation>已拒绝重放的录音</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="30" />
        <source>Setting changed</source>
        <translation>设置已更改</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="31" />
        <source>Settings saved</source>
        <translation>设置已保存</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="32" />
        <source>Speaker deleted</source>
        <translation>已删除说话人</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="33" />
        <source>Status changed</source>
        <translation>状态已更改</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="34" />
        <source>Store created</source>
        <translation>已创建存储</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="35" />
        <source>Personal data exported</source>
        <translation>已导出个人数据</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="36" />
        <source>Threshold changed</source>
        <translation>阈值已更改</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="37" />
        <source>Threshold saved</source>
        <translation>阈值已保存</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="44" />
        <source>correct</source>
        <translation>正确</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="44" />
        <source>accepted</source>
        <translation>通过</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="44" />
        <source>score</source>
        <translation>得分</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="44" />
        <source>threshold</source>
        <translation>阈值</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="45" />
        <source>model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="45" />
        <source>setting</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="45" />
        <source>was</source>
        <translation>原为</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="45" />
        <source>now</source>
        <translation>现为</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="46" />
        <source>to</source>
        <translation>改为</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="46" />
        <source>reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="46" />
        <source>takes</source>
        <translation>录音数</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="46" />
        <source>speech (s)</source>
        <translation>语音（秒）</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="47" />
        <source>locked for (s)</source>
        <translation>锁定（秒）</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="47" />
        <source>from</source>
        <translation>来源</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="54" />
        <source>yes</source>
        <translation>是</translation>
    </message>
    <message>
        <location filename="../../ui/audit_text.py" line="54" />
        <source>no</source>
        <translation>否</translation>
    </message>
</context>
<context>
    <name>CalibrationTab</name>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="175" />
        <source>Choose a trial list (lines: label enrol test) recorded at this site and the false-accept rate you can accept. The threshold that gives it is computed here.</source>
        <translation>请选择在本场所录制的试验列表（每行：标签 注册 测试）以及可接受的误接受率，系统将计算对应的阈值。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="181" />
        <source>Trial list file</source>
        <translation>试验列表文件</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="182" />
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="192" />
        <source>Target false-accept rate</source>
        <translation>目标误接受率</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="195" />
        <source>Calibrate</source>
        <translation>校准</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="197" />
        <source>Use this threshold</source>
        <translation>使用此阈值</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="213" />
        <source>Trial list</source>
        <translation>试验列表</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="213" />
        <source>Trial lists (*.txt)</source>
        <translation>试验列表 (*.txt)</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="221" />
        <source>Choose a trial list file first (Browse…).</source>
        <translation>请先选择试验列表文件（浏览…）。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="225" />
        <source>The voice model is still loading: try again in a moment.</source>
        <translation>语音模型仍在加载：请稍后再试。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="229" />
        <source>Scoring the trials…</source>
        <translation>正在计算试验得分…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="242" />
        <source>Threshold %1: false accepts %2 %, false rejects %3 % on %4 trials.</source>
        <translation>阈值 %1：在 %4 次试验中误接受 %2 %，误拒绝 %3 %。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="250" />
        <source>Calibration failed: %1</source>
        <translation>校准失败：%1</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="256" />
        <source>In use.</source>
        <translation>已启用。</translation>
    </message>
</context>
<context>
    <name>ClusterPanel</name>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="62" />
        <source>Create cluster</source>
        <translation>创建集群</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="64" />
        <source>New join token</source>
        <translation>新的加入令牌</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="67" />
        <source>Only for kiosk (its name; optional)</source>
        <translation>仅限指定终端（填终端名称，可选）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="68" />
        <source>A token made for one kiosk admits no other, even if someone else reads it off this screen. The kiosk shows its name on its Peers tab.</source>
        <translation>为某台终端生成的令牌只能让该终端加入，即使他人从本屏幕上读到令牌也无法使用。终端名称显示在它的“对等节点”标签页上。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="71" />
        <source>A one-time token for one more kiosk</source>
        <translation>一次性令牌，可让另一台终端加入</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="74" />
        <source>Paste or type the join token from a kiosk of the cluster</source>
        <translation>粘贴或输入集群中某台终端给出的加入令牌</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="75" />
        <source>Join</source>
        <translation>加入</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="77" />
        <location filename="../../ui/screens/admin_cluster.py" line="205" />
        <source>Remove member</source>
        <translation>移除成员</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="122" />
        <source>In cluster %1. This kiosk is %2, reached at %3.</source>
        <translation>已在集群 %1 中。本终端为 %2，地址为 %3。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="124" />
        <source>(not serving)</source>
        <translation>（未提供服务）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="126" />
        <source>This kiosk (%1) is not in a cluster. Create one here, or join one with a token from a kiosk that is.</source>
        <translation>本终端（%1）不在任何集群中。可在此创建集群，或用集群中某台终端给出的令牌加入。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="206" />
        <source>Remove %1 from the cluster? Its certificate is revoked on every member; it can only come back with a new token.</source>
        <translation>将 %1 移出集群？其证书将在每个成员上被吊销，只能凭新令牌重新加入。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="215" />
        <source>Select another kiosk's row first.</source>
        <translation>请先选中另一台终端所在的行。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="226" />
        <source>Removed %1 here; the other members learn it when this kiosk's node runs again.</source>
        <translation>已在本终端移除 %1；本终端的节点再次运行时，其他成员会得知。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="235" />
        <source>Something went wrong: %1</source>
        <translation>出错了：%1</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="238" />
        <source>This is not a join token: copy the whole token from the other kiosk (it starts with VOMID1.).</source>
        <translation>这不是加入令牌：请从另一台终端复制完整的令牌（以 VOMID1. 开头）。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="240" />
        <source>This token was already used or has expired: ask for a new one on the other kiosk.</source>
        <translation>此令牌已被使用或已失效：请在另一台终端上获取新令牌。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="242" />
        <source>Could not reach kiosk at %1: is it on and on this network?</source>
        <translation>无法连接位于 %1 的终端：它是否已开机并接入同一网络？</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="243" />
        <source>This kiosk is not connected to a network: connect it and try again.</source>
        <translation>本终端未连接网络：请连接后重试。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="244" />
        <source>Something answered at %1, but not a kiosk: check the token.</source>
        <translation>%1 有应答，但不是终端：请检查令牌。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="245" />
        <source>The kiosk at %1 is not in a cluster any more: ask a member of the cluster for a new token.</source>
        <translation>位于 %1 的终端已不在集群中：请向集群成员索取新令牌。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="247" />
        <source>The kiosk at %1 answered for another cluster than the token names. Nothing was changed: ask for a new token.</source>
        <translation>位于 %1 的终端所应答的集群与令牌所指的不同。未做任何更改：请获取新令牌。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="249" />
        <source>The kiosk at %1 refused the join: %2</source>
        <translation>位于 %1 的终端拒绝了加入：%2</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="250" />
        <source>This kiosk is already in a cluster.</source>
        <translation>本终端已在集群中。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="251" />
        <source>This kiosk is not in a cluster: create one or join one first.</source>
        <translation>本终端不在集群中：请先创建或加入集群。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="252" />
        <source>This kiosk's node is not serving (the status bar says why), so it cannot be a cluster member.</source>
        <translation>本终端的节点未在提供服务（原因见状态栏），因此不能成为集群成员。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="254" />
        <source>A kiosk cannot remove itself: remove it from another member.</source>
        <translation>终端不能移除自己：请在另一个成员上移除它。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="255" />
        <source>This token is for the kiosk named %1, not this one (%3): ask for a token for this kiosk.</source>
        <translation>此令牌是为名为 %1 的终端生成的，不适用于本终端（%3）：请为本终端获取令牌。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="257" />
        <source>%1 cannot name a kiosk: a kiosk's name has letters, digits, '_', ':' or '-' only (its Peers tab shows it).</source>
        <translation>%1 不是有效的终端名称：终端名称只能包含字母、数字、“_”、“:”或“-”（见该终端的“对等节点”标签页）。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="259" />
        <source>Only the kiosk that created the cluster makes join tokens: make one there.</source>
        <translation>只有创建集群的终端才能生成加入令牌：请在那台终端上生成。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="260" />
        <source>This join token has expired (a token lasts one hour): ask for a new one on the other kiosk.</source>
        <translation>此加入令牌已过期（令牌有效期为一小时）：请在另一台终端上获取新令牌。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_cluster.py" line="262" />
        <source>This kiosk's name %1 cannot name a cluster member: use letters, digits, '_', ':' or '-' only (setting node_name).</source>
        <translation>本终端的名称 %1 不能用作集群成员名：只能使用字母、数字、“_”、“:”或“-”（设置项 node_name）。</translation>
    </message>
</context>
<context>
    <name>ConsentCard</name>
    <message>
        <location filename="../../ui/screens/consent.py" line="36" />
        <source>Consent</source>
        <translation>知情同意</translation>
    </message>
    <message>
        <location filename="../../ui/screens/consent.py" line="41" />
        <source>I have read this and agree</source>
        <translation>我已阅读并同意</translation>
    </message>
    <message>
        <location filename="../../ui/screens/consent.py" line="55" />
        <source>Consent is needed before enrolling.</source>
        <translation>注册前需要本人同意。</translation>
    </message>
</context>
<context>
    <name>EnrolScreen</name>
    <message>
        <location filename="../../ui/screens/consent.py" line="21" />
        <source>Your voiceprint (a set of numbers computed from your voice, not the recording) will be stored, encrypted, to recognise you at this site's kiosks and meeting rooms. The recordings are not kept. You can ask an administrator to delete your voiceprint at any time.</source>
        <translation>您的声纹（根据您的声音计算出的一组数字，而不是录音本身）将被加密保存，用于在本场所的自助终端和会议室识别您。录音不会被保留。您可以随时请管理员删除您的声纹。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="58" />
        <source>Enrol a new person</source>
        <translation>注册新人员</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="73" />
        <source>Badge number or login (scan or type)</source>
        <translation>工号或登录名（扫描或输入）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="75" />
        <source>Full name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="80" />
        <source>Id</source>
        <translation>编号</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="83" />
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="91" />
        <source>Start recording</source>
        <translation>开始录音</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="114" />
        <source>Takes</source>
        <translation>录音</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="119" />
        <source>%v of %m good takes</source>
        <translation>合格录音 %v / %m</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="121" />
        <source>Finish enrolment</source>
        <translation>完成注册</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="136" />
        <source>Enrol someone else</source>
        <translation>注册其他人</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="177" />
        <source>Please enter the person's id.</source>
        <translation>请输入此人的编号。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="197" />
        <source>Recording take %1…</source>
        <translation>正在录制第 %1 次…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="202" />
        <source>Checking take %1…</source>
        <translation>正在检查第 %1 次录音…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="210" />
        <source>Take %1 is good (%2 s of speech).</source>
        <translation>第 %1 次录音合格（语音 %2 秒）。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="215" />
        <source>All takes are good: press Finish enrolment.</source>
        <translation>所有录音均合格：请按“完成注册”。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="219" />
        <source>Take %1: %2</source>
        <translation>第 %1 次录音：%2</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="236" />
        <source>Take %1: to do</source>
        <translation>第 %1 次：待录</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="239" />
        <source>Take %1: good, %2 s</source>
        <translation>第 %1 次：合格，%2 秒</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="241" />
        <source>Take %1: retry needed</source>
        <translation>第 %1 次：需要重录</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="245" />
        <source>Retry</source>
        <translation>重录</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="254" />
        <source>All takes recorded</source>
        <translation>全部录音已完成</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="255" />
        <source>Take %1 of %2</source>
        <translation>第 %1 次录音，共 %2 次</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="264" />
        <source>Saving the voiceprint…</source>
        <translation>正在保存声纹…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="272" />
        <source>%1 is enrolled</source>
        <translation>%1 已注册</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="274" />
        <source>%1 is enrolled, but the check is weak</source>
        <translation>%1 已注册，但校验得分偏低</translation>
    </message>
    <message>
        <location filename="../../ui/screens/enrol.py" line="276" />
        <source>Verification against the new voiceprint: score %1, threshold %2 (%3 takes, %4 s of speech).</source>
        <translation>与新声纹的核验：得分 %1，阈值 %2（%3 次录音，语音 %4 秒）。</translation>
    </message>
</context>
<context>
    <name>LabelingScreen</name>
    <message>
        <location filename="../../ui/screens/labeling.py" line="80" />
        <source>Meeting room: who spoke when</source>
        <translation>会议室：谁在何时发言</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="85" />
        <source>Open audio file…</source>
        <translation>打开音频文件…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="86" />
        <location filename="../../ui/screens/labeling.py" line="159" />
        <source>Record the room</source>
        <translation>录制会议室</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="87" />
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="93" />
        <source>Export %1</source>
        <translation>导出 %1</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="100" />
        <source>Open a recording or record the room to see who spoke when.</source>
        <translation>打开录音或录制会议室，查看谁在何时发言。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="111" />
        <location filename="../../ui/screens/labeling.py" line="178" />
        <source>Click a segment to play it.</source>
        <translation>点击片段即可播放。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="113" />
        <source>Play</source>
        <translation>播放</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="114" />
        <source>Rename speaker…</source>
        <translation>重命名说话人…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="115" />
        <source>Enrol this speaker…</source>
        <translation>注册此说话人…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="138" />
        <source>Open a meeting recording</source>
        <translation>打开会议录音</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="139" />
        <source>Audio (*.wav *.flac *.mp3 *.m4a *.ogg)</source>
        <translation>音频 (*.wav *.flac *.mp3 *.m4a *.ogg)</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="145" />
        <source>Labelling %1…</source>
        <translation>正在标注 %1…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="155" />
        <source>Stop and label</source>
        <translation>停止并标注</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="156" />
        <source>Recording the room…</source>
        <translation>正在录制会议室…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="160" />
        <source>Labelling the recording…</source>
        <translation>正在标注录音…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="168" />
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="184" />
        <source>%1: 1 speaker, 1 segment, %4 s.</source>
        <translation>%1：1 位说话人，1 个片段，%4 秒。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="184" />
        <source>%1: 1 speaker, %3 segments, %4 s.</source>
        <translation>%1：1 位说话人，%3 个片段，%4 秒。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="186" />
        <source>%1: %2 speakers, %3 segments, %4 s.</source>
        <translation>%1：%2 位说话人，%3 个片段，%4 秒。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="194" />
        <source>Cancelled.</source>
        <translation>已取消。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="196" />
        <source>Cannot open this file: %1</source>
        <translation>无法打开此文件：%1</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="261" />
        <source>%1, %2–%3 s</source>
        <translation>%1，%2–%3 秒</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="276" />
        <source>Enrolling needs the admin PIN.</source>
        <translation>注册需要管理员 PIN。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="308" />
        <source>Could not enrol from this recording: %1</source>
        <translation>无法从此录音注册：%1</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="239" />
        <source>No audio output here: showing the position only.</source>
        <translation>此处没有音频输出：仅显示播放位置。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="246" />
        <source>Rename speaker</source>
        <translation>重命名说话人</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="246" />
        <source>Name:</source>
        <translation>姓名：</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="294" />
        <source>Enrolling %1…</source>
        <translation>正在注册 %1…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="300" />
        <source>%1 is enrolled.</source>
        <translation>%1 已注册。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="316" />
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <location filename="../../ui/screens/labeling.py" line="323" />
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
</context>
<context>
    <name>LoginScreen</name>
    <message>
        <location filename="../../ui/screens/login.py" line="47" />
        <source>Your id (badge or login)</source>
        <translation>您的编号（工号或登录名）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="92" />
        <source>Say the phrase to sign in</source>
        <translation>朗读句子即可登录</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="92" />
        <source>Who is speaking?</source>
        <translation>请问您是谁？</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="108" />
        <source>Press Speak (or the space bar) and read the phrase.</source>
        <translation>请按“说话”（或空格键）并朗读上面的句子。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="128" />
        <source>Just start speaking: the phrase above, or anything.</source>
        <translation>直接开口说话即可：朗读上面的句子或说任何话。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="179" />
        <source>Listening…</source>
        <translation>正在聆听…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="170" />
        <location filename="../../ui/screens/login.py" line="189" />
        <source>Please enter your id first.</source>
        <translation>请先输入您的编号。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="107" />
        <source>Nobody is enrolled yet: an administrator can enrol people on the Enrol screen.</source>
        <translation>尚无人注册：管理员可在“注册”页面为人员注册。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="171" />
        <source>Type or scan your id in the box above, then press Speak.</source>
        <translation>请在上方输入或扫描您的编号，然后按“说话”。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="193" />
        <source>Checking your voice…</source>
        <translation>正在核验您的声音…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="194" />
        <source>Checking your voice (the voice model is still loading)…</source>
        <translation>正在核验您的声音（声纹模型仍在加载）…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="210" />
        <source>Welcome, %1</source>
        <translation>欢迎，%1</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="211" />
        <source>Recognised as %1 (score %2)</source>
        <translation>识别为 %1（得分 %2）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="214" />
        <source>Try again</source>
        <translation>请再试一次</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="220" />
        <source>Not recognised</source>
        <translation>未能识别</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="223" />
        <source>Try again in %1 s.</source>
        <translation>请在 %1 秒后再试。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="232" />
        <source>Microphone problem</source>
        <translation>麦克风问题</translation>
    </message>
    <message>
        <location filename="../../ui/screens/login.py" line="233" />
        <source>Press Speak to retry.</source>
        <translation>按“说话”重试。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../ui/app.py" line="60" />
        <source>Edge-VoMID</source>
        <translation>Edge-VoMID 声纹识别</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="67" />
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="68" />
        <source>Enrol</source>
        <translation>注册</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="69" />
        <source>Meeting room</source>
        <translation>会议室</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="70" />
        <source>Admin</source>
        <translation>管理</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="244" />
        <source>The voice model could not load: %1</source>
        <translation>声纹模型无法加载：%1</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="252" />
        <source>Voice model unavailable</source>
        <translation>语音模型不可用</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="253" />
        <source>The configured voice model could not load:

%1

Use the offline model (GE2E, English-trained) for this session?</source>
        <translation>无法加载所配置的语音模型：

%1

本次会话改用离线模型（GE2E，英文训练）吗？</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="256" />
        <source>Use the offline model</source>
        <translation>使用离线模型</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="257" />
        <source>Not now</source>
        <translation>暂不</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="277" />
        <source>Node: %1</source>
        <translation>节点：%1</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="278" />
        <source>Peers: %1</source>
        <translation>对等节点：%1</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="279" />
        <source>Model: %1</source>
        <translation>模型：%1</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="279" />
        <source>loading…</source>
        <translation>加载中…</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="281" />
        <source>Fault: %1</source>
        <translation>故障：%1</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="283" />
        <source>No admin PIN set yet: enrolment and Admin ask for one</source>
        <translation>尚未设置管理员 PIN：注册和管理页面会要求设置</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="285" />
        <source>No faults</source>
        <translation>运行正常</translation>
    </message>
</context>
<context>
    <name>MeetingEnrolDialog</name>
    <message>
        <location filename="../../ui/screens/consent.py" line="65" />
        <source>Enrol this speaker</source>
        <translation>注册此说话人</translation>
    </message>
    <message>
        <location filename="../../ui/screens/consent.py" line="67" />
        <source>The voiceprint is made from this speaker's speech in the recording. The person must be present and agree.</source>
        <translation>声纹由此发言人在录音中的语音生成。本人须在场并同意。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/consent.py" line="73" />
        <source>Badge number or login (scan or type)</source>
        <translation>工号或登录名（扫描或输入）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/consent.py" line="77" />
        <source>Full name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../ui/screens/consent.py" line="78" />
        <source>Id</source>
        <translation>编号</translation>
    </message>
    <message>
        <location filename="../../ui/screens/consent.py" line="81" />
        <source>Name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../ui/screens/consent.py" line="95" />
        <source>Please enter the person's id.</source>
        <translation>请输入此人的编号。</translation>
    </message>
</context>
<context>
    <name>Messages</name>
    <message>
        <location filename="../../ui/messages.py" line="19" />
        <source>Too short: please keep speaking a little longer.</source>
        <translation>语音太短：请多说一会儿。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="20" />
        <source>No speech heard: please speak clearly towards the device.</source>
        <translation>没有听到语音：请对着设备清晰地说话。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="21" />
        <source>Nothing was recorded: please try again.</source>
        <translation>没有录到声音：请再试一次。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="22" />
        <source>Too quiet: please speak louder or come closer.</source>
        <translation>声音太小：请大声一点或靠近一些。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="23" />
        <source>Too noisy: please try again somewhere quieter.</source>
        <translation>环境太吵：请到安静一些的地方再试。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="24" />
        <source>Too loud: please speak a little further away.</source>
        <translation>声音过大：请离设备稍远一些。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="25" />
        <source>More than one voice: only one person should speak.</source>
        <translation>检测到多人声音：请只让一个人说话。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="26" />
        <source>Your voice was not recognised.</source>
        <translation>未能识别您的声音。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="27" />
        <source>This id is not enrolled.</source>
        <translation>此编号尚未注册。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="28" />
        <source>Too many failed attempts: this id is locked for a while.</source>
        <translation>失败次数过多：此编号已被暂时锁定。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="29" />
        <source>This sounds like a recording of an earlier attempt: refused.</source>
        <translation>这像是之前尝试的录音回放：已拒绝。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="30" />
        <source>This id is already enrolled (here or on another kiosk): choose another id, or delete the old voiceprint in Admin first.</source>
        <translation>此编号已注册（在本机或其他终端）：请换一个编号，或先在“管理”中删除旧声纹。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="33" />
        <source>This id is disabled: please ask an administrator.</source>
        <translation>此编号已停用：请联系管理员。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="35" />
        <source>Something went wrong. Please try again.</source>
        <translation>出现问题，请再试一次。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="42" />
        <source>Too short: %1 s of speech heard, %2 s needed. Please keep speaking a little longer.</source>
        <translation>太短：听到 %1 秒语音，需要 %2 秒。请多说一会儿。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="50" />
        <source>This speaker has too little speech in the recording: %1 s found, about %2 s needed. Choose a speaker who talks longer, or enrol them on the Enrol screen.</source>
        <translation>此发言人在录音中的语音太少：找到 %1 秒，约需 %2 秒。请选择说话更多的发言人，或在“注册”页面为其注册。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="53" />
        <source>No speech of this speaker was found in the recording (about %2 s needed).</source>
        <translation>录音中未找到此发言人的语音（约需 %2 秒）。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="55" />
        <source>This speaker is too quiet in the recording.</source>
        <translation>此发言人在录音中声音太小。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="56" />
        <source>The recording is too noisy around this speaker.</source>
        <translation>此发言人处的录音噪声太大。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="57" />
        <source>This speaker is distorted (too loud) in the recording.</source>
        <translation>此发言人在录音中失真（声音太大）。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="58" />
        <source>Other voices overlap this speaker in the recording.</source>
        <translation>录音中有其他声音与此发言人重叠。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="60" />
        <source>Consent is needed before enrolling.</source>
        <translation>注册前需要本人同意。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="71" />
        <source>Got it.</source>
        <translation>已收到。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="72" />
        <source>No speech heard.</source>
        <translation>没有听到语音。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="73" />
        <source>Maximum length reached.</source>
        <translation>已达到最长录音时间。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="74" />
        <source>Recording ended.</source>
        <translation>录音结束。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="75" />
        <source>Stopped.</source>
        <translation>已停止。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="101" />
        <source>Speaker %1</source>
        <translation>说话人 %1</translation>
    </message>
</context>
<context>
    <name>PinDialog</name>
    <message>
        <location filename="../../ui/screens/pin.py" line="32" />
        <source>Administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="40" />
        <source>Admin PIN:</source>
        <translation>管理员 PIN：</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="70" />
        <source>The PIN could not be checked: %1</source>
        <translation>无法核对 PIN：%1</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="76" />
        <source>Too many wrong PINs: try again in %1 s.</source>
        <translation>PIN 错误次数过多：请 %1 秒后再试。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="78" />
        <source>A PIN is 4 to 12 digits.</source>
        <translation>PIN 为 4 到 12 位数字。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="80" />
        <source>No admin PIN is set yet.</source>
        <translation>尚未设置管理员 PIN。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="81" />
        <source>Wrong PIN.</source>
        <translation>PIN 错误。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="83" />
        <source>After %1 wrong PINs the PIN is locked for a while.</source>
        <translation>连续 %1 次 PIN 错误后将锁定一段时间。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="165" />
        <source>The admin PIN is set (stored hashed in %1).</source>
        <translation>管理员 PIN 已设置（以哈希形式保存在 %1）。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="166" />
        <source>The admin PIN is set for this session only: it could not be saved to %1 (%2).</source>
        <translation>管理员 PIN 仅在本次会话有效：无法保存到 %1（%2）。</translation>
    </message>
</context>
<context>
    <name>Prompts</name>
    <message>
        <location filename="../../ui/messages.py" line="86" />
        <source>The quick brown fox jumps over the lazy dog.</source>
        <translation>敏捷的棕色狐狸跳过了那只懒狗。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="87" />
        <source>My voice is my passport, please let me in.</source>
        <translation>我的声音就是我的通行证，请让我进入。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="88" />
        <source>Spring rain falls softly on the quiet garden.</source>
        <translation>春雨轻轻地落在安静的花园里。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="89" />
        <source>Today I will meet my colleagues on the third floor.</source>
        <translation>今天我要在三楼和同事们见面。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="90" />
        <source>Seven bright stars shine above the northern hills.</source>
        <translation>七颗明亮的星星在北山上空闪耀。</translation>
    </message>
    <message>
        <location filename="../../ui/messages.py" line="91" />
        <source>Please open the door to the meeting room.</source>
        <translation>请打开会议室的门。</translation>
    </message>
</context>
<context>
    <name>RecorderPanel</name>
    <message>
        <location filename="../../ui/screens/recorder_panel.py" line="53" />
        <source>Please read aloud:</source>
        <translation>请朗读：</translation>
    </message>
    <message>
        <location filename="../../ui/screens/recorder_panel.py" line="59" />
        <location filename="../../ui/screens/recorder_panel.py" line="137" />
        <location filename="../../ui/screens/recorder_panel.py" line="143" />
        <source>Speak</source>
        <translation>说话</translation>
    </message>
    <message>
        <location filename="../../ui/screens/recorder_panel.py" line="67" />
        <source>speech %p%</source>
        <translation>语音 %p%</translation>
    </message>
    <message>
        <location filename="../../ui/screens/recorder_panel.py" line="87" />
        <source>Level</source>
        <translation>音量</translation>
    </message>
    <message>
        <location filename="../../ui/screens/recorder_panel.py" line="90" />
        <source>Speech</source>
        <translation>语音</translation>
    </message>
    <message>
        <location filename="../../ui/screens/recorder_panel.py" line="119" />
        <location filename="../../ui/screens/recorder_panel.py" line="129" />
        <source>Listening… tap to stop</source>
        <translation>正在聆听… 点击停止</translation>
    </message>
</context>
<context>
    <name>SetPinDialog</name>
    <message>
        <location filename="../../ui/screens/pin.py" line="97" />
        <source>Set the admin PIN</source>
        <translation>设置管理员 PIN</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="97" />
        <source>Change the admin PIN</source>
        <translation>更改管理员 PIN</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="100" />
        <source>This kiosk has no admin PIN yet. Choose one (4 to 12 digits): it protects enrolment, the admin screen and leaving kiosk mode.</source>
        <translation>此终端尚无管理员 PIN。请设置一个（4 到 12 位数字）：它保护注册、管理页面和退出自助终端模式。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="109" />
        <source>Current PIN:</source>
        <translation>当前 PIN：</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="116" />
        <source>New PIN:</source>
        <translation>新 PIN：</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="117" />
        <source>New PIN again:</source>
        <translation>再次输入新 PIN：</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="136" />
        <source>The two new PINs differ.</source>
        <translation>两次输入的新 PIN 不一致。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/pin.py" line="159" />
        <source>The PIN could not be set: %1</source>
        <translation>无法设置 PIN：%1</translation>
    </message>
</context>
<context>
    <name>SettingsTab</name>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="48" />
        <source>Identify: who is speaking? (1:N)</source>
        <translation>辨认：谁在说话？（1:N）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="49" />
        <source>Verify: claim an id, then speak (1:1)</source>
        <translation>验证：先输入编号，再说话（1:1）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="55" />
        <source>Full screen, closing needs the admin PIN</source>
        <translation>全屏显示，关闭需要管理员 PIN</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="56" />
        <source>Start a login when someone speaks (identify mode)</source>
        <translation>有人说话时自动开始登录（辨认模式）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="60" />
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="61" />
        <source>Login mode</source>
        <translation>登录方式</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="62" />
        <source>Accept threshold (cosine)</source>
        <translation>通过阈值（余弦）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="63" />
        <source>Lock an id after failures</source>
        <translation>失败多少次后锁定编号</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="64" />
        <source>Lock for</source>
        <translation>锁定时长</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="65" />
        <source>Back to login after inactivity</source>
        <translation>无操作后返回登录</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="66" />
        <source>Clear a sign-in result after</source>
        <translation>登录结果保留时长</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="67" />
        <source>Kiosk mode</source>
        <translation>自助终端模式</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="68" />
        <source>Hands-free</source>
        <translation>免按键</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="69" />
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="70" />
        <source>Change PIN…</source>
        <translation>更改 PIN…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="73" />
        <source>Admin PIN</source>
        <translation>管理员 PIN</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="74" />
        <source>Apply</source>
        <translation>应用</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="85" />
        <source>(change with --model and restart)</source>
        <translation>（用 --model 更改并重启）</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="130" />
        <source>The new language shows after the app is restarted.</source>
        <translation>新语言将在重启应用后生效。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="131" />
        <source>Applied.</source>
        <translation>已应用。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="133" />
        <source>Applied; saving for the next start…</source>
        <translation>已应用；正在保存，下次启动时生效…</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="143" />
        <source>Applied for this session only: could not save to %1 (%2).</source>
        <translation>仅本次会话生效：无法保存到 %1（%2）。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="146" />
        <source>Applied and saved to %1.</source>
        <translation>已应用并保存到 %1。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="152" />
        <source>the environment variable %1</source>
        <translation>环境变量 %1</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="152" />
        <source>a command-line flag</source>
        <translation>命令行参数</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="153" />
        <source>the %1 profile</source>
        <translation>%1 配置档</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="154" />
        <source>Note: %1 is also set by %2, which overrides the saved value on the next start.</source>
        <translation>注意：%1 也由%2设置，下次启动时会覆盖已保存的值。</translation>
    </message>
    <message>
        <location filename="../../ui/screens/admin_settings.py" line="158" />
        <source>Applied for this session only: could not save (%1).</source>
        <translation>仅本次会话生效：无法保存（%1）。</translation>
    </message>
</context>
<context>
    <name>Timeline</name>
    <message>
        <location filename="../../ui/widgets/timeline.py" line="78" />
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <location filename="../../ui/widgets/timeline.py" line="89" />
        <source>No meeting labelled yet</source>
        <translation>尚未标注会议</translation>
    </message>
</context>
<context>
    <name>screen</name>
    <message>
        <location filename="../../ui/screenshots.py" line="51" />
        <source>Listening…</source>
        <translation>正在聆听…</translation>
    </message>
</context>
<context>
    <name>screen.panel</name>
    <message>
        <location filename="../../ui/screenshots.py" line="50" />
        <source>Listening… tap to stop</source>
        <translation>正在聆听… 点击停止</translation>
    </message>
</context>
</TS>