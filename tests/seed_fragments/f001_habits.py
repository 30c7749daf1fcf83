# seeds/001, 二、3 早停法, 交叉验证 and 集成学习, as written
# Given by the test: torch (imported by the seed's earlier blocks), model, val_loader, criterion, evaluate (returns a scripted sequence of
# validation losses), num_epochs, train_data (a TensorDataset), DataLoader, SimpleCNN,
# AnotherCNN, YetAnotherCNN (tiny modules) and input; the working directory is a tmp_path.
patience = 5  # 容忍验证损失不下降的轮次
best_val_loss = float('inf')
counter = 0
for epoch in range(num_epochs):
    # ... 训练一个epoch ...
    # ... 在验证集上评估 ...
    val_loss = evaluate(model, val_loader, criterion)
    if val_loss < best_val_loss:
        best_val_loss = val_loss
        torch.save(model.state_dict(), 'best_model.pth')  # 保存当前最佳模型
        counter = 0  # 重置计数器
    else:
        counter += 1
        if counter >= patience:
            print(f'Early stopping triggered at epoch {epoch}')
            break  # 提前停止训练
# 训练结束后,加载验证集上表现最好的模型
model.load_state_dict(torch.load('best_model.pth'))

from sklearn.model_selection import KFold
kfold = KFold(n_splits=5, shuffle=True)
for fold, (train_idx, val_idx) in enumerate(kfold.split(train_data)):
    train_subsampler = torch.utils.data.SubsetRandomSampler(train_idx)
    val_subsampler = torch.utils.data.SubsetRandomSampler(val_idx)
    train_loader = DataLoader(train_data, batch_size=64, sampler=train_subsampler)
    val_loader = DataLoader(train_data, batch_size=64, sampler=val_subsampler)
    # 在当前的训练/验证划分上训练和评估模型
    ...

# 概念示例 (模型平均)
model1 = SimpleCNN()
model2 = AnotherCNN()
model3 = YetAnotherCNN()
# 训练每个模型...
# ...
# 预测时取平均
outputs = (model1(input) + model2(input) + model3(input)) / 3.0
